# Copyright (c) mmwsss contributors. All rights reserved.
"""The CAMs an IRN stage starts from, as its data samples carry them."""
import logging
import warnings
from typing import Any, Dict, Optional, Sequence

import torch
from mmengine.logging import print_log

from mmwsss.fileio import CAM_FIELDS, load_cam_file


def warn_cam_dir_deprecated(model: str, arrays: Sequence[str]) -> None:
    """Warn that ``model(cam_dir=...)`` is deprecated, naming the new key.

    Args:
        model (str): The model's type name.
        arrays (Sequence[str]): The CAM arrays it needs.
    """
    message = (
        f'{model}(cam_dir=...) is deprecated: set cam_dir on the loading '
        f"transform instead, dict(type='mmwsss.LoadCAMFile', cam_dir=..., "
        f'arrays={tuple(arrays)!r}) in test_dataloader.dataset.pipeline '
        '(e.g. --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR '
        'with the configs of mmwsss). Until then the model reads the CAM '
        'files itself, from its cam_dir.')
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    # DeprecationWarnings are hidden outside __main__: log it too.
    print_log(message, logger='current', level=logging.WARNING)


def sample_cams(sample: Any,
                arrays: Sequence[str],
                cam_dir: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The CAM arrays of a data sample.

    Args:
        sample (BaseDataElement): A data sample; the arrays are its fields
            ``cam_<name>`` (``cam_keys``, ``cam_strided``, ...) that
            :class:`mmwsss.LoadCAMFile` loaded and
            :class:`mmwsss.PackCAMInputs` packed.
        arrays (Sequence[str]): Names of the arrays, e.g.
            ``('keys', 'strided')``.
        cam_dir (str, optional): The deprecated ``cam_dir`` of a model: when
            given, the arrays are read from the sample's CAM file there
            instead. Defaults to None.

    Returns:
        dict[str, torch.Tensor]: The arrays by name (on the sample's device,
        or on the CPU when read from ``cam_dir``).

    Raises:
        KeyError: If the sample does not carry the arrays.
    """
    if cam_dir is not None:
        return {
            name: torch.from_numpy(value)
            for name, value in load_cam_file(cam_dir, sample, arrays).items()
        }
    missing = [name for name in arrays if CAM_FIELDS[name] not in sample]
    if missing:
        raise KeyError(
            f'The data sample of {sample.get("img_path")} carries no CAM '
            f'{missing}: load them in the test pipeline with '
            f"dict(type='mmwsss.LoadCAMFile', cam_dir=..., "
            f'arrays={tuple(arrays)!r}) before mmwsss.PackCAMInputs')
    return {name: sample.get(CAM_FIELDS[name]) for name in arrays}
