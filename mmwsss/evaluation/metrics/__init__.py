# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.evaluation.metrics."""
