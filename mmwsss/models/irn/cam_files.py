# Copyright (c) mmwsss contributors. All rights reserved.
"""Read the CAM files written by :class:`mmwsss.CAMWriter`."""
import os.path as osp
from typing import Any, Dict, Sequence

import numpy as np

from mmwsss.evaluation.writers.base_writer import sample_name
from mmwsss.utils.io import load_npz


def load_cam_file(cam_dir: str, sample: Any,
                  keys: Sequence[str]) -> Dict[str, np.ndarray]:
    """Load the CAM file ``<cam_dir>/<id>.npz`` of a data sample.

    Args:
        cam_dir (str): Folder of the CAM files.
        sample (BaseDataElement | dict): The data sample; its file stem is
            ``img_id`` or the stem of ``img_path`` (as the writers name
            their files).
        keys (Sequence[str]): Arrays that must be in the file, e.g.
            ``('keys', 'high_res')``.

    Returns:
        dict[str, np.ndarray]: Every array of the file.

    Raises:
        FileNotFoundError: If the file does not exist.
        KeyError: If a requested array is missing.
    """
    path = osp.join(cam_dir, sample_name(sample) + '.npz')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'CAM file not found: {path}. Write the CAMs first '
            '(tools/test.py with a configs/cam config).')
    arrays = load_npz(path)
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise KeyError(f'CAM file {path} has no {missing} (it has '
                       f'{sorted(arrays)}); rewrite it with '
                       'CAMWriter(save_high_res=True) if high_res is missing')
    return arrays
