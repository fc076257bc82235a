# Copyright (c) mmwsss contributors. All rights reserved.
"""Writer of class activation maps."""
from typing import Any

import numpy as np
import torch

from mmwsss.registry import METRICS
from mmwsss.utils.io import load_npz, save_npz
from mmwsss.utils.tensor import to_numpy
from .base_writer import BaseWriter


@METRICS.register_module()
class CAMWriter(BaseWriter):
    """Store the CAMs of every image as ``<output_dir>/<id>.npz``.

    Each compressed archive (no pickles) holds:

    - ``keys`` int64 (K,): 0-based ground-truth classes of the maps;
    - ``strided`` float32 (K, (H-1)//4+1, (W-1)//4+1): stride-4 CAMs
      (what the IRNet random walk consumes);
    - ``high_res`` float32 (K, H, W): full-resolution CAMs (seeds, IR labels);
    - ``scores`` float32 (num_classes,): classification scores.

    Maps are each divided by their maximum + 1e-5, i.e. in [0, 1). See
    :class:`BaseWriter` for atomicity, resume, distribution and the manifest.

    Args:
        output_dir (str): Output folder.
        save_high_res (bool): Also store ``high_res``. Defaults to True.
        **kwargs: Arguments of :class:`BaseWriter`.
    """

    default_prefix = 'cam_writer'

    def __init__(self, output_dir: str, save_high_res: bool = True, **kwargs):
        super().__init__(output_dir, **kwargs)
        self.save_high_res = save_high_res

    def write_item(self, path: str, sample: dict) -> None:
        """Write the CAMs of one sample."""
        arrays = dict(
            keys=to_numpy(sample['cam_keys']).astype(np.int64),
            strided=to_numpy(sample['cam_strided']).astype(np.float32))
        if self.save_high_res:
            arrays['high_res'] = to_numpy(sample['cam_high_res']).astype(
                np.float32)
        if 'pred_score' in sample:
            arrays['scores'] = to_numpy(sample['pred_score']).astype(
                np.float32)
        save_npz(path, arrays)

    def load_output(self, sample: Any) -> Any:
        """Fill ``cam_*`` and ``pred_score`` of a data sample from its file."""
        arrays = load_npz(self.output_path(sample))
        sample.cam_keys = torch.from_numpy(arrays['keys'])
        sample.cam_strided = torch.from_numpy(arrays['strided'])
        if 'high_res' in arrays:
            sample.cam_high_res = torch.from_numpy(arrays['high_res'])
        if 'scores' in arrays:
            sample.set_pred_score(torch.from_numpy(arrays['scores']))
        return sample
