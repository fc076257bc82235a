# Copyright (c) mmwsss contributors. All rights reserved.
"""PSA / AffinityNet (Ahn & Kwak, CVPR 2018): la/ha labels from CAMs,
AffinityNet and its random walk."""
from .affinity_net import AffinityHead, AffinityNet, AffinityNetRandomWalk
from .functional import (psa_affinity_labels, psa_affinity_loss,
                         psa_crf_scores, psa_la_ha_label,
                         psa_label_from_scores, psa_pair_affinity,
                         psa_pair_indices, psa_pair_order, psa_pool_scores,
                         psa_random_walk, psa_rw_to_label,
                         psa_scores_with_background, psa_transition_matrix)
from .label_generator import PSALabelGenerator

__all__ = [
    'AffinityHead', 'AffinityNet', 'AffinityNetRandomWalk',
    'PSALabelGenerator', 'psa_pair_order', 'psa_pair_indices',
    'psa_affinity_labels', 'psa_pair_affinity', 'psa_affinity_loss',
    'psa_scores_with_background', 'psa_crf_scores', 'psa_label_from_scores',
    'psa_la_ha_label', 'psa_pool_scores', 'psa_transition_matrix',
    'psa_random_walk', 'psa_rw_to_label'
]
