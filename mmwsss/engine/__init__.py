# Copyright (c) mmwsss contributors. All rights reserved.
"""Engine components of mmwsss: loops and hooks."""
from .hooks import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403
