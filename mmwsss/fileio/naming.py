# Copyright (c) mmwsss contributors. All rights reserved.
"""The file stem of a sample: how every per-image file is named."""
import os.path as osp
from typing import Any


def sample_name(sample: Any) -> str:
    """File stem of a sample: its ``img_id``, else its image file's stem.

    Every per-image file (CAMs, IR labels, pseudo-masks, writer outputs) is
    ``<folder>/<sample_name><suffix>``, so the stages find each other's
    files.

    Args:
        sample (BaseDataElement | dict): A data sample, the dict the
            evaluator turns it into, or a pipeline's ``results``.

    Returns:
        str: The stem.
    """
    img_id = sample.get('img_id')
    if img_id is not None:
        return str(img_id)
    return osp.splitext(osp.basename(sample.get('img_path')))[0]


def sample_file(folder: str, sample: Any, suffix: str) -> str:
    """Path of the per-image file of ``sample`` in ``folder``.

    Args:
        folder (str): The folder.
        sample (BaseDataElement | dict): See :func:`sample_name`.
        suffix (str): File suffix, e.g. ``'.npz'``.

    Returns:
        str: ``<folder>/<sample_name(sample)><suffix>``.
    """
    return osp.join(folder, sample_name(sample) + suffix)
