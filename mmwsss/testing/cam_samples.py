# Copyright (c) mmwsss contributors. All rights reserved.
"""Inputs of the models that consume CAM files (IRN, PSA/AffinityNet) for
their tests: seeded tiny models, training batches of labels on a feature
grid, and data samples carrying CAMs as the pipeline's transforms put them.

Kept out of ``mmwsss.testing``'s namespace: it imports the models and
transforms, which the light helpers there (``free_port`` for the pipeline
runner) do not need.
"""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import PixelData
from mmpretrain.structures import DataSample

from mmwsss.datasets.transforms import LoadCAMFile, PackCAMInputs
from mmwsss.fileio import write_cam_file
from mmwsss.registry import MODELS
from mmwsss.utils import to_numpy


def seeded_model(cfg: dict, **overrides) -> torch.nn.Module:
    """Build ``cfg`` with ``overrides`` (top-level keys), weights drawn with
    seed 0.

    Args:
        cfg (dict): Model config.
        **overrides: Keys of ``cfg`` to replace or add.

    Returns:
        nn.Module: The model (in training mode, as built).
    """
    torch.manual_seed(0)
    cfg = copy.deepcopy(cfg)
    cfg.update(overrides)
    return MODELS.build(cfg)


def label_grid_batch(model: torch.nn.Module,
                     stride: int,
                     ignore_rows: int,
                     size: int = 96,
                     batch: int = 2) -> dict:
    """A preprocessed training batch of random images with random labels
    0..2 on the model's feature grid, as ``mmwsss.DownsampleLabel`` gives
    them (the labels are drawn with seed 0, the images from torch's global
    generator).

    Args:
        model (nn.Module): The model (its data preprocessor is applied).
        stride (int): Image pixels per label cell.
        ignore_rows (int): Leading label rows set to 255 (ignore).
        size (int): Image height and width. Defaults to 96.
        batch (int): Images. Defaults to 2.

    Returns:
        dict: ``inputs`` and ``data_samples`` with ``gt_sem_seg``.
    """
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(batch):
        label = rng.integers(0, 3, (1, size // stride, size // stride)).astype(
            np.uint8)
        label[:, :ignore_rows] = 255
        sample = DataSample()
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label))
        samples.append(sample)
    inputs = list(
        torch.randint(0, 255, (batch, 3, size, size), dtype=torch.uint8))
    return model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), True)


def cam_loaded_sample(cam_dir: str, img_id: str, arrays: Sequence[str],
                      img: torch.Tensor) -> DataSample:
    """The packed data sample of an image with the CAMs of ``cam_dir``,
    through ``mmwsss.LoadCAMFile`` and ``mmwsss.PackCAMInputs``.

    Args:
        cam_dir (str): Folder of ``<img_id>.npz``.
        img_id (str): Image name.
        arrays (Sequence[str]): CAM arrays to load (``'keys'``,
            ``'strided'``, ``'high_res'``).
        img (Tensor): (3, H, W) uint8 image.

    Returns:
        DataSample: With ``cam_<array>`` fields.
    """
    results = dict(
        img_id=img_id,
        img=to_numpy(img.permute(1, 2, 0)),
        img_shape=img.shape[1:],
        ori_shape=img.shape[1:])
    results = LoadCAMFile(str(cam_dir), arrays)(results)
    return PackCAMInputs()(results)['data_samples']


def bright_object_samples(
        cam_dir: str,
        names: Sequence[str] = ('a', 'b', 'c')
) -> Tuple[List[torch.Tensor], List[DataSample]]:
    """Noise images (3, 20, 24) with a bright object of class 2 and their
    CAM files (``high_res`` 1.0 on the object's core, 0.1 on its border),
    written to ``cam_dir`` and loaded back: the inputs of the label
    generators (IR labels, PSA's la/ha labels).

    Args:
        cam_dir (str): Folder of the CAM files.
        names (Sequence[str]): Image names.

    Returns:
        tuple[list[Tensor], list[DataSample]]: The images and their samples.
    """
    rng = np.random.default_rng(0)
    inputs, samples = [], []
    for name in names:
        img = rng.integers(0, 255, (3, 20, 24)).astype(np.uint8)
        img[:, 5:15, 6:18] = 250
        high_res = np.zeros((1, 20, 24), np.float32)
        high_res[0, 6:14, 7:17] = 0.9
        high_res[0, 5:15, 6:18] += 0.1
        write_cam_file(
            osp.join(str(cam_dir), f'{name}.npz'),
            keys=np.array([2]),
            strided=high_res[:, ::4, ::4],
            high_res=high_res)
        inputs.append(torch.from_numpy(img))
        samples.append(
            cam_loaded_sample(cam_dir, name, ('keys', 'high_res'),
                              inputs[-1]))
    return inputs, samples


def predict_with_cams(model: torch.nn.Module,
                      img: torch.Tensor,
                      cams: Optional[Dict[str, np.ndarray]] = None):
    """The model's prediction for one image whose sample carries the CAM
    arrays ``cams`` (by name, as ``cam_<name>`` fields, as LoadCAMFile and
    PackCAMInputs put them; none when not given).

    Args:
        model (nn.Module): A model predicting from CAMs.
        img (Tensor): (3, H, W) uint8 image, named ``'im'``.
        cams (dict[str, np.ndarray], optional): CAM arrays.

    Returns:
        DataSample: The prediction.
    """
    sample = DataSample(
        metainfo=dict(
            img_id='im', img_shape=img.shape[1:], ori_shape=img.shape[1:]))
    for name, value in (cams or {}).items():
        sample.set_field(torch.as_tensor(value), 'cam_' + name)
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    return model(**data, mode='predict')[0]
