# Copyright (c) mmwsss contributors. All rights reserved.
"""Reserved for mmwsss visualizers and visualization backends.

Nothing is registered here yet. The ``VISUALIZERS`` and ``VISBACKENDS``
registries of :mod:`mmwsss.registry` already name this package as their
location (and :func:`mmwsss.utils.register_all_modules` imports it), so a
module added here registers without touching either. Until then they hold
nothing of their own and fall back to mmengine's visualizers.
"""
