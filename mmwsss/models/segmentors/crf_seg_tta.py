# Copyright (c) mmwsss contributors. All rights reserved.
"""Test-time augmentation with dense CRF post-processing for mmseg models."""
from typing import List, Optional, Union

import mmcv
import torch
from mmengine import fileio
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmwsss.registry import MODELS
from mmwsss.utils.tensor import to_numpy
from ..bbam.pseudo_labels import bbam_dense_crf
from ..utils.crf import crf_kernels


@MODELS.register_module()
class CRFSegTTAModel(BaseTTAModel):
    """Average the softmax of augmented views, refine it with a dense CRF.

    A drop-in replacement for mmseg's ``SegTTAModel`` (``tta_model`` of a
    config, used by ``tools/test.py --tta``): the class probabilities of all
    views of ``tta_pipeline`` (e.g. several scales and flips, each already
    resized back to the original image and un-flipped by the segmentor) are
    averaged, then a fully connected CRF (`Krähenbühl and Koltun, NeurIPS
    2011 <https://arxiv.org/abs/1210.5644>`_) refines them on the original
    image, read again from ``img_path``; the prediction is the argmax of the
    CRF posterior. A ``tta_pipeline`` with one view gives single-scale CRF.

    The CRF (pydensecrf) has unary ``-log(p)``, a Gaussian smoothness kernel
    and a bilateral appearance kernel. The defaults are the VOC settings of
    the DeepLab-v2 PyTorch implementation used by AdvCAM, RIB and BBAM
    (kazuto1011/deeplab-pytorch ``configs/voc12.yaml``); DeepLab's papers
    tuned them by cross-validation on a val subset. The CRF runs on the CPU,
    one image at a time (about a second for a VOC image).

    Args:
        module (dict | nn.Module): The segmentor (an mmseg
            ``EncoderDecoder``) with a multi-class head.
        iterations (int): Mean-field iterations. Defaults to 10.
        backend_args (dict, optional): File backend to read the images.
            Defaults to None.
        data_preprocessor (dict | nn.Module, optional): See
            :class:`mmengine.model.BaseTTAModel`. Defaults to None.
        **kernels (float): Kernel settings replacing the DeepLab VOC ones
            (``CRF_KERNEL_DEFAULTS['deeplab_voc']`` of
            :mod:`mmwsss.models.utils.crf`): ``gaussian_sxy`` (spatial std
            of the smoothness kernel, px; 1), ``gaussian_compat`` (its
            weight; 3), ``bilateral_sxy`` (spatial std of the appearance
            kernel, px; 67), ``bilateral_srgb`` (its colour std; 3) and
            ``bilateral_compat`` (its weight; 4).
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 iterations: int = 10,
                 backend_args: Optional[dict] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 **kernels: float):
        super().__init__(module, data_preprocessor)
        if self.module.out_channels < 2:
            raise ValueError('CRFSegTTAModel needs a multi-class head '
                             '(out_channels >= 2), got '
                             f'{self.module.out_channels}')
        self.crf_cfg = dict(
            n_iters=iterations,
            **crf_kernels('deeplab_voc', kernels))
        self.backend_args = backend_args

    def merge_preds(self, data_samples_list: List[List[SegDataSample]]
                    ) -> List[SegDataSample]:
        """Merge the views of each image and apply the CRF.

        Args:
            data_samples_list (list[list[SegDataSample]]): For each image,
                the predictions (``seg_logits`` at the original size) of its
                views.

        Returns:
            list[SegDataSample]: One sample per image with ``pred_sem_seg``
            and, when the views have it, ``gt_sem_seg``.
        """
        merged = []
        for views in data_samples_list:
            probs = torch.stack([
                view.seg_logits.data.softmax(dim=0) for view in views
            ]).mean(0)
            first = views[0]
            image = mmcv.imfrombytes(
                fileio.get(first.img_path, backend_args=self.backend_args))
            if image.shape[:2] != probs.shape[1:]:
                raise ValueError(
                    f'Image {first.img_path} is {image.shape[:2]} but the '
                    f'predictions are {tuple(probs.shape[1:])}; the views '
                    'must be resized back to the original image')
            posterior = bbam_dense_crf(image,
                                       to_numpy(probs.float()),
                                       **self.crf_cfg)
            pred = torch.from_numpy(posterior.argmax(0)).to(probs.device)
            sample = SegDataSample(metainfo=first.metainfo)
            sample.pred_sem_seg = PixelData(data=pred[None])
            if 'gt_sem_seg' in first:
                sample.gt_sem_seg = first.gt_sem_seg
            merged.append(sample)
        return merged
