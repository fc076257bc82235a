# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC names, kept importable here; the code lives in ``synthvoc``."""
from .synthvoc import *  # noqa: F401,F403
from .synthvoc import __all__  # noqa: F401
