# Copyright (c) mmwsss contributors. All rights reserved.
"""Every mmwsss component is registered where its registry's ``locations``
say, so that a registry imports the right modules when it is used."""
import pytest
from mmengine.registry import Registry

import mmwsss  # noqa: F401  (registers every component)
from mmwsss import registry as mmwsss_registry

# registry.py also imports mmengine's root registries (the parents).
REGISTRIES = {
    name: value
    for name, value in vars(mmwsss_registry).items()
    if isinstance(value, Registry) and value.scope == mmwsss_registry.SCOPE
}


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + '.')


def test_every_registry_has_locations():
    assert len(REGISTRIES) == 17
    for name, registry in REGISTRIES.items():
        assert registry._locations, name


def test_registries_hold_components():
    # The check below must have something to check.
    registered = sum(len(r.module_dict) for r in REGISTRIES.values())
    assert registered > 50


@pytest.mark.parametrize('name', sorted(REGISTRIES))
def test_components_live_in_registry_locations(name):
    registry = REGISTRIES[name]
    misplaced = {
        key: obj.__module__
        for key, obj in registry.module_dict.items()
        if not any(
            _in_package(obj.__module__, location)
            for location in registry._locations)
    }
    assert not misplaced, (
        f'{name} looks in {registry._locations}, but these are registered '
        f'elsewhere: {misplaced}')
