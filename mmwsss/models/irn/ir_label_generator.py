# Copyright (c) mmwsss contributors. All rights reserved.
"""Weight-free "models" that turn CAM files into label maps (IR labels)."""
import functools
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData

from mmwsss.registry import MODELS
from mmwsss.utils.processes import fork_map
from mmwsss.utils.tensor import to_numpy
from ..utils.checks import check_fraction
from ..utils.crf import CRF_KERNEL_NAMES
from .cam_inputs import sample_cams, warn_cam_dir_deprecated
from .ir_label import cams_to_ir_label, dense_crf_label

# The arrays of the CAM files it needs.
_CAM_ARRAYS = ('keys', 'high_res')


def _cam_label_job(job: tuple) -> np.ndarray:
    """The label of one image: ``label_fn(high_res, keys, image=...,
    crf=..., **params)``. Module-level, with module-level functions in
    ``job``, so that worker processes can unpickle it."""
    label_fn, crf_fn, image, high_res, keys, params, crf_cfg = job
    crf = None if crf_cfg is None else functools.partial(crf_fn, **crf_cfg)
    return label_fn(high_res, keys, image=image, crf=crf, **params)


class CAMLabelGenerator(BaseModel):
    """Base of the weight-free "models" that turn the CAMs of each image
    into a label map on the CPU (IRN's IR labels, PSA's la/ha labels).

    Subclasses set :attr:`label_fn` (CAMs to label map) and :attr:`crf_fn`
    (the method's dense CRF), both module-level functions so that worker
    processes can unpickle them, and return the method's settings from
    :meth:`label_params`. With ``num_workers`` of 2 or more the images of a
    batch are processed by up to that many forked processes
    (:func:`mmwsss.utils.processes.fork_map`).

    Args:
        crf_cfg (dict, optional): CRF settings overriding the method's; its
            keys must be in :attr:`crf_settings`. Defaults to None.
        crf (bool): Whether the CRF runs. Defaults to True.
        num_workers (int): Worker processes per batch; 0 or 1 computes in
            the main process. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to
            ``BaseDataPreprocessor`` (no normalisation).
        init_cfg (dict, optional): Unused (no weights). Defaults to None.
    """

    #: CRF settings that ``crf_cfg`` may override.
    crf_settings: Tuple[str, ...] = ('iterations', *CRF_KERNEL_NAMES)

    def __init__(self,
                 crf: bool = True,
                 crf_cfg: Optional[dict] = None,
                 num_workers: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if crf_cfg is not None and not crf:
            raise ValueError('crf_cfg is given but crf=False turns the CRF '
                             'off')
        # Fail at build time, not in a worker, on a misspelt CRF setting.
        unknown = sorted(set(crf_cfg or {}) - set(self.crf_settings))
        if unknown:
            raise ValueError(f'Unknown crf_cfg keys {unknown}; expected some '
                             f'of {sorted(self.crf_settings)}')
        self.crf_cfg = (dict(crf_cfg or {}) if crf else None)
        self.num_workers = num_workers

    #: ``label_fn(high_res, keys, image=, crf=, **label_params())``.
    label_fn: Callable = None
    #: The CRF ``label_fn`` calls, with ``crf_cfg`` bound.
    crf_fn: Callable = None
    #: Deprecated CAM folder read by the model itself (IRN only).
    cam_dir: Optional[str] = None

    def label_params(self) -> dict:
        """The method's settings passed to :attr:`label_fn`."""
        raise NotImplementedError

    def _job(self, img: torch.Tensor, sample) -> tuple:
        image, high_res, keys = self._image_and_cams(img, sample,
                                                     self.cam_dir)
        return (type(self).label_fn, type(self).crf_fn, image, high_res,
                keys, self.label_params(), self.crf_cfg)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # No weights: accept any checkpoint (e.g. the CAM classifier's)
        # without reporting its keys as unexpected.
        pass

    def forward(self,
                inputs: List[torch.Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'predict') -> list:
        """Compute the labels of a batch (``mode='predict'`` only).

        Args:
            inputs (list[Tensor] | Tensor): (3, H, W) uint8 RGB images.
            data_samples (list): Their data samples, with the CAM arrays.
            mode (str): Must be ``'predict'``.

        Returns:
            list: The data samples with ``pred_sem_seg``.
        """
        if mode != 'predict':
            raise ValueError(f'{type(self).__name__} has no weights and only '
                             f"supports mode='predict', got {mode!r}")
        jobs = [
            self._job(img, sample)
            for img, sample in zip(inputs, data_samples)
        ]
        labels = fork_map(_cam_label_job, jobs, self.num_workers)
        for label, sample in zip(labels, data_samples):
            sample.pred_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        return data_samples

    def _image_and_cams(
            self,
            img: torch.Tensor,
            sample,
            cam_dir: Optional[str] = None
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The (H, W, 3) uint8 image, its (K, H, W) high-res CAMs and their
        (K,) classes, on the host and checked."""
        if img.dtype != torch.uint8:
            raise TypeError(f'{type(self).__name__} needs the uint8 RGB '
                            'images (no normalising data preprocessor), got '
                            f'{img.dtype}')
        cams = sample_cams(sample, _CAM_ARRAYS, cam_dir)
        high_res = to_numpy(cams['high_res'])
        image = to_numpy(img.permute(1, 2, 0))
        if high_res.shape[1:] != image.shape[:2]:
            raise ValueError(f'CAMs of {sample.get("img_path")} have size '
                             f'{high_res.shape[1:]} but the image is '
                             f'{image.shape[:2]}')
        return image, high_res, to_numpy(cams['keys'])


@MODELS.register_module()
class IRLabelGenerator(CAMLabelGenerator):
    """Inter-pixel relation (IR) labels from CAM files (IRN step 4).

    For each image, takes the CAMs ``keys`` and ``high_res`` of its data
    sample (``cam_keys``, ``cam_high_res``: the CAM file written by
    :class:`mmwsss.CAMWriter`, loaded in the data pipeline by
    ``dict(type='mmwsss.LoadCAMFile', cam_dir=..., arrays=('keys',
    'high_res'))``) and runs :func:`mmwsss.functional.cams_to_ir_label`:
    confident foreground from the argmax over [``fg_threshold``; CAMs],
    confident background where the argmax over [``bg_threshold``; CAMs] is
    background too, ignore (255) elsewhere; each map is refined by IRN's
    dense CRF
    (:func:`mmwsss.functional.dense_crf_label`) unless ``crf=False``.

    The prediction is ``pred_sem_seg`` (a :class:`PixelData` of shape
    (1, H, W), values 0 = background, ``k + 1`` = class ``k``, 255 =
    ignore), written by :class:`mmwsss.IRLabelWriter` and scored by
    :class:`mmwsss.IRLabelMetric`. Run it with ``tools/test.py CONFIG CKPT``:
    the model has no weights, so ``CKPT`` (normally the CAM classifier that
    produced the CAMs) is only recorded in the writer's manifest.

    The CRFs run on the CPU. With ``num_workers`` of 2 or more the images
    of a batch are processed by up to that many forked processes, as the
    reference's ``cam_to_ir_label`` does; use a test batch size of at least
    ``num_workers``. Plain DDP refuses a model without weights: distributed
    runs need ``model_wrapper_cfg =
    dict(type='MMSeparateDistributedDataParallel')`` (set in the configs).
    The inputs must be the uint8 RGB images (the default
    ``BaseDataPreprocessor`` with :class:`mmwsss.LoadImageRGB` and
    :class:`mmwsss.PackCAMInputs`).

    Args:
        cam_dir (str, optional): Deprecated: set it on
            :class:`mmwsss.LoadCAMFile`. When given, the model reads
            ``<cam_dir>/<id>.npz`` itself (whatever the pipeline loaded), as
            it used to. Defaults to None.
        fg_threshold (float): Background score of the foreground map.
            Defaults to 0.30.
        bg_threshold (float): Background score of the background map.
            Defaults to 0.05.
        crf (bool): Refine both maps with the dense CRF. Defaults to True.
        crf_cfg (dict, optional): Keyword arguments of
            :func:`mmwsss.functional.dense_crf_label` that override IRN's
            CRF settings, e.g. ``dict(bilateral_sxy=15)`` for images much
            smaller than VOC's. Defaults to None (IRN's settings).
        num_workers (int): Worker processes per batch; 0 or 1 computes in
            the main process. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to
            ``BaseDataPreprocessor`` (no normalisation).
        init_cfg (dict, optional): Unused (no weights). Defaults to None.
    """

    crf_settings = ('gt_prob', 'iterations', *CRF_KERNEL_NAMES)

    def __init__(self,
                 cam_dir: Optional[str] = None,
                 fg_threshold: float = 0.30,
                 bg_threshold: float = 0.05,
                 **kwargs):
        super().__init__(**kwargs)
        check_fraction(
            type(self).__name__,
            fg_threshold=fg_threshold,
            bg_threshold=bg_threshold)
        if not bg_threshold <= fg_threshold:
            raise ValueError(f'{type(self).__name__}: expected 0 <= '
                             'bg_threshold <= fg_threshold, got '
                             f'{bg_threshold} and {fg_threshold}')
        if cam_dir is not None:
            warn_cam_dir_deprecated(type(self).__name__, _CAM_ARRAYS)
        self.cam_dir = cam_dir
        self.fg_threshold = fg_threshold
        self.bg_threshold = bg_threshold

    label_fn = staticmethod(cams_to_ir_label)
    crf_fn = staticmethod(dense_crf_label)

    def label_params(self) -> dict:
        return dict(
            fg_threshold=self.fg_threshold, bg_threshold=self.bg_threshold)
