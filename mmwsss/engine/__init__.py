# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.engine."""
