# Copyright (c) mmwsss contributors. All rights reserved.
"""Reading config nodes the way the registries read them."""


def type_name(node) -> str:
    """The registered name of a config node's ``type`` without its scope.

    ``dict(type='mmwsss.LoadCAMFile')`` and ``dict(type='LoadCAMFile')`` both
    give ``'LoadCAMFile'``; a class given as the type gives its name; a node
    that is not a dict or has no type gives ``''``.
    """
    if not isinstance(node, dict):
        return ''
    kind = node.get('type', '')
    if isinstance(kind, type):
        return kind.__name__
    return str(kind).split('.')[-1]
