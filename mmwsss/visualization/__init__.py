# Copyright (c) mmwsss contributors. All rights reserved.
"""Drawing of the stages' outputs: :class:`WSSSVisualizer` and the panel
functions it composes."""
from .drawing import (blend, draw_boxes, draw_feature_map, draw_heatmap,
                      draw_instances, draw_label_map, grid, side_by_side)
from .wsss_visualizer import WSSSVisualizer

__all__ = [
    'WSSSVisualizer', 'blend', 'draw_boxes', 'draw_feature_map',
    'draw_heatmap', 'draw_instances', 'draw_label_map', 'grid', 'side_by_side'
]
