# Copyright (c) mmwsss contributors. All rights reserved.
"""Writer of class activation maps."""
from typing import Any

import torch

from mmwsss.fileio import read_cam_file, write_cam_file
from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from .base_writer import BaseWriter


@METRICS.register_module()
class CAMWriter(BaseWriter):
    """Store the CAMs of every image as ``<output_dir>/<id>.npz``.

    The file format (``keys``, ``strided``, ``high_res``, ``scores``) is
    :mod:`mmwsss.fileio.cam_file`'s; the maps are each divided by their
    maximum + 1e-5, i.e. in [0, 1). Later stages read the files with
    :class:`mmwsss.LoadCAMFile`. See :class:`BaseWriter` for atomicity,
    resume, distribution and the manifest.

    Args:
        output_dir (str): Output folder.
        save_high_res (bool): Also store ``high_res``. Defaults to True.
        **kwargs: Arguments of :class:`BaseWriter`.
    """

    default_prefix = 'cam_writer'

    def __init__(self, output_dir: str, save_high_res: bool = True, **kwargs):
        super().__init__(output_dir, **kwargs)
        self.save_high_res = save_high_res

    def writer_options(self) -> dict:
        """``save_high_res`` changes the files."""
        return dict(save_high_res=self.save_high_res)

    def write_item(self, path: str, sample: dict) -> None:
        """Write the CAMs of one sample."""
        write_cam_file(
            path,
            keys=to_numpy(sample['cam_keys']),
            strided=to_numpy(sample['cam_strided']),
            high_res=to_numpy(sample['cam_high_res'])
            if self.save_high_res else None,
            scores=to_numpy(sample['pred_score'])
            if 'pred_score' in sample else None)

    def load_output(self, sample: Any) -> Any:
        """Fill ``cam_*`` and ``pred_score`` of a data sample from its file."""
        arrays = read_cam_file(self.output_path(sample))
        sample.cam_keys = torch.from_numpy(arrays['keys'])
        sample.cam_strided = torch.from_numpy(arrays['strided'])
        if 'high_res' in arrays:
            sample.cam_high_res = torch.from_numpy(arrays['high_res'])
        if 'scores' in arrays:
            sample.set_pred_score(torch.from_numpy(arrays['scores']))
        return sample
