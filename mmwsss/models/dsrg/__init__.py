# Copyright (c) mmwsss contributors. All rights reserved.
"""DSRG: deep seeded region growing on a DeepLab-v2 segmentation network."""
from .functional import (balanced_seed_loss, constrain_loss, crf_image,
                         dsrg_crf_log, dsrg_crf_refine, dsrg_grow_batch,
                         dsrg_label_map, dsrg_region_growing, dsrg_seed_label,
                         dsrg_softmax, sec_seed_loss, seed_label_to_cues)
from .head import DSRGEncoderDecoder, DSRGHead

__all__ = [
    'DSRGHead', 'DSRGEncoderDecoder', 'balanced_seed_loss', 'constrain_loss',
    'crf_image', 'dsrg_crf_log', 'dsrg_crf_refine', 'dsrg_grow_batch',
    'dsrg_label_map', 'dsrg_region_growing', 'dsrg_seed_label', 'dsrg_softmax',
    'sec_seed_loss', 'seed_label_to_cues'
]
