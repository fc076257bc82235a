# Copyright (c) mmwsss contributors. All rights reserved.
"""IRNet (inter-pixel relation network) pseudo-mask generation."""
# Former home of load_cam_file, kept importable from here.
from mmwsss.fileio import load_cam_file
from .instance import cluster_centroids, find_centroids, instance_labels
from .ir_label import cams_to_ir_label, dense_crf_label
from .ir_label_generator import IRLabelGenerator
from .irnet import IRNet, IRNetInstanceWalk, IRNetRandomWalk, pair_labels
from .losses import irn_losses
from .path_index import (PathIndex, affinity_labels, edge_to_affinity,
                         get_path_index, pair_displacement)
from .random_walk import (random_walk, rw_to_semantic_label, transition_matrix,
                          upsample_rw)

__all__ = [
    'PathIndex', 'get_path_index', 'affinity_labels', 'edge_to_affinity',
    'pair_displacement', 'irn_losses', 'transition_matrix', 'random_walk',
    'upsample_rw', 'rw_to_semantic_label', 'cams_to_ir_label',
    'dense_crf_label', 'find_centroids', 'cluster_centroids', 'instance_labels',
    'load_cam_file', 'IRLabelGenerator', 'IRNet', 'IRNetRandomWalk',
    'IRNetInstanceWalk', 'pair_labels'
]
