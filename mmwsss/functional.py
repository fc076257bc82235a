# Copyright (c) mmwsss contributors. All rights reserved.
"""The public array-in/array-out API of mmwsss (like ``torch.nn.functional``).

The implementations live next to the components that use them; this module
re-exports them under stable names. See ``docs/functional_api.md``.
"""
# isort: off
# --- CAM seeds ---
# --- WSOL ---
# --- IRNet ---
# --- BBAM ---
# --- Refiners and training-time methods ---
# isort: on

__all__ = [name for name in dir() if not name.startswith('_')]
