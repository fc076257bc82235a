# Copyright (c) mmwsss contributors. All rights reserved.
"""Visualization tools of mmwsss (CAM overlays, attention panels)."""
