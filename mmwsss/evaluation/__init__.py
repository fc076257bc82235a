# Copyright (c) mmwsss contributors. All rights reserved.
"""Evaluation of mmwsss: pure metric functions, metrics and writers."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .writers import *  # noqa: F401,F403
