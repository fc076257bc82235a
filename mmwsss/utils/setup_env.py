# Copyright (c) mmwsss contributors. All rights reserved.
"""Environment set-up helpers."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register all mmwsss modules into their registries.

    Args:
        init_default_scope (bool): Whether to make ``mmwsss`` the default
            scope. When another scope is already current, a uniquely named
            ``mmwsss`` scope is created instead of overwriting it.
            Defaults to True.
    """
    import mmwsss.datasets  # noqa: F401
    import mmwsss.engine  # noqa: F401
    import mmwsss.evaluation  # noqa: F401
    import mmwsss.models  # noqa: F401
    import mmwsss.visualization  # noqa: F401

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('mmwsss'))
    if never_created:
        DefaultScope.get_instance('mmwsss', scope_name='mmwsss')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmwsss':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmwsss", '
                      '`register_all_modules` will force the current '
                      'default scope to be "mmwsss".')
        new_instance_name = f'mmwsss-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmwsss')
