# Copyright (c) mmwsss contributors. All rights reserved.
"""FickleNet: CAMs aggregated over stochastic hidden-unit selections."""
from .classifier import FickleNetClassifier
from .functional import (aggregate_cam_draws, expand_windows, ficklenet_conv,
                         ficklenet_conv_naive, window_dropout_mask)
from .head import FickleNetCAMHead

__all__ = [
    'FickleNetClassifier', 'FickleNetCAMHead', 'expand_windows',
    'window_dropout_mask', 'ficklenet_conv', 'ficklenet_conv_naive',
    'aggregate_cam_draws'
]
