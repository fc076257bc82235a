# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.SeedGrowingMaskHead: the BBAM mask loss inside a tiny Mask R-CNN."""
import copy
import os.path as osp

import mmdet
import numpy as np
import pytest
import torch
from mmcv.ops import get_compiling_cuda_version
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmwsss.models.bbam import SeedGrowingMaskHead, seed_growing_mask_loss
from mmwsss.testing import as_device_like, count_host_syncs

MASK_RCNN = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models',
    'mask-rcnn_r50_fpn.py')
SIZE = 64


def tiny_mask_rcnn_cfg(num_classes: int = 3) -> dict:
    """Mask R-CNN of mmdet's base config at 1/8 width, seed-growing head."""
    model = copy.deepcopy(Config.fromfile(MASK_RCNN).model.to_dict())
    model['backbone'].update(depth=18, base_channels=8, init_cfg=None)
    model['neck'].update(in_channels=[8, 16, 32, 64], out_channels=16)
    model['rpn_head'].update(in_channels=16, feat_channels=16)
    roi_head = model['roi_head']
    roi_head['bbox_roi_extractor']['out_channels'] = 16
    roi_head['bbox_head'].update(
        in_channels=16, fc_out_channels=32, num_classes=num_classes)
    roi_head['mask_roi_extractor']['out_channels'] = 16
    roi_head['mask_head'] = dict(
        type='mmwsss.SeedGrowingMaskHead',
        num_convs=2,
        in_channels=16,
        conv_out_channels=16,
        num_classes=num_classes)
    return model


def _masks(boxes, shrink: int) -> BitmapMasks:
    # Filled boxes shrunk (or grown, for shrink < 0) by a margin.
    masks = np.zeros((len(boxes), SIZE, SIZE), dtype=np.uint8)
    for mask, (x0, y0, x1, y1) in zip(masks, boxes):
        mask[max(y0 + shrink, 0):y1 - shrink,
             max(x0 + shrink, 0):x1 - shrink] = 1
    return BitmapMasks(masks, SIZE, SIZE)


def _batch(with_ignore: bool = True):
    boxes = [[[4, 6, 40, 44], [30, 20, 60, 58]], [[10, 10, 50, 30]]]
    labels = [[0, 2], [1]]
    samples = []
    for image_boxes, image_labels in zip(boxes, labels):
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(SIZE, SIZE),
                ori_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE),
                batch_input_shape=(SIZE, SIZE),
                scale_factor=(1.0, 1.0)))
        gt = InstanceData(
            bboxes=torch.tensor(image_boxes, dtype=torch.float32),
            labels=torch.tensor(image_labels),
            masks=_masks(image_boxes, 4))
        if with_ignore:
            gt.ignore_masks = _masks(image_boxes, 1)
        sample.gt_instances = gt
        samples.append(sample)
    inputs = torch.randn(
        2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    return inputs, samples


@pytest.fixture(scope='module')
def detector():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(tiny_mask_rcnn_cfg()))
    model.init_weights()
    return model


@pytest.mark.parametrize('with_ignore', [True, False])
def test_mask_rcnn_forward_backward(detector, with_ignore):
    assert isinstance(detector.roi_head.mask_head, SeedGrowingMaskHead)
    inputs, samples = _batch(with_ignore)
    detector.zero_grad()
    losses = detector.loss(inputs, samples)
    loss_mask = losses['loss_mask']
    assert torch.isfinite(loss_mask) and loss_mask > 0
    loss_mask.backward()
    grad = detector.roi_head.mask_head.conv_logits.weight.grad
    assert grad is not None and grad.abs().sum() > 0


class _Sampling:
    """The fields of mmdet's SamplingResult the mask targets read."""

    def __init__(self, priors, gt_inds, gt_labels):
        self.pos_priors = priors
        self.pos_assigned_gt_inds = gt_inds
        self.pos_gt_labels = gt_labels


def _head_inputs():
    _, samples = _batch()
    gts = [s.gt_instances for s in samples]
    sampling = [
        _Sampling(gt.bboxes + 1.5, torch.arange(len(gt)), gt.labels)
        for gt in gts
    ]
    logits = torch.randn(
        3, 3, 28, 28, generator=torch.Generator().manual_seed(2))
    cfg = ConfigDict(mask_size=28)
    return logits, sampling, gts, cfg


def test_loss_projects_both_masks_like_mmdet_targets():
    init_default_scope('mmdet')
    head = MODELS.build(
        dict(
            type='mmwsss.SeedGrowingMaskHead',
            num_convs=1,
            in_channels=8,
            conv_out_channels=8,
            num_classes=3,
            loss_weight=2.0))
    logits, sampling, gts, cfg = _head_inputs()
    out = head.loss_and_target(logits, sampling, gts, cfg)

    targets_fg = head.get_targets(sampling, gts, cfg)
    targets_ignore = head.get_targets(
        sampling, [InstanceData(masks=gt.ignore_masks) for gt in gts], cfg)
    labels = torch.tensor([0, 2, 1])
    expected = 2.0 * seed_growing_mask_loss(logits[torch.arange(3), labels],
                                            targets_fg, targets_ignore)
    torch.testing.assert_close(out['loss_mask']['loss_mask'], expected)
    assert torch.equal(out['mask_targets'], targets_fg)
    # the ignore band is a real band: the two projections differ
    assert (targets_ignore > targets_fg).any()

    # without ignore masks: balanced BCE on the foreground
    plain = [InstanceData(masks=gt.masks) for gt in gts]
    out = head.loss_and_target(logits, sampling, plain, cfg)
    torch.testing.assert_close(
        out['loss_mask']['loss_mask'], 2.0 *
        seed_growing_mask_loss(logits[torch.arange(3), labels], targets_fg))

    with pytest.raises(ValueError, match='ignore masks'):
        head.loss_and_target(logits, sampling, [gts[0], plain[1]], cfg)


def test_class_agnostic_head_uses_its_single_channel():
    init_default_scope('mmdet')
    head = MODELS.build(
        dict(
            type='mmwsss.SeedGrowingMaskHead',
            num_convs=1,
            in_channels=8,
            conv_out_channels=8,
            num_classes=3,
            class_agnostic=True))
    logits, sampling, gts, cfg = _head_inputs()
    logits = logits[:, :1]
    out = head.loss_and_target(logits, sampling, gts, cfg)
    targets_fg = head.get_targets(sampling, gts, cfg)
    targets_ignore = head.get_targets(
        sampling, [InstanceData(masks=gt.ignore_masks) for gt in gts], cfg)
    torch.testing.assert_close(
        out['loss_mask']['loss_mask'],
        seed_growing_mask_loss(logits[:, 0], targets_fg, targets_ignore))


def _seed_growing_head(**kwargs):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='mmwsss.SeedGrowingMaskHead',
            num_convs=1,
            in_channels=8,
            conv_out_channels=8,
            num_classes=3,
            **kwargs))


@pytest.mark.parametrize('with_ignore', [True, False])
def test_loss_waits_for_the_device_only_in_mmdet_targets(with_ignore):
    head = _seed_growing_head()
    logits, sampling, gts, cfg = _head_inputs()
    if not with_ignore:
        gts = [InstanceData(masks=gt.masks) for gt in gts]
    expected = head.loss_and_target(logits, sampling, gts, cfg)
    for res in sampling:
        for key in ('pos_priors', 'pos_assigned_gt_inds', 'pos_gt_labels'):
            setattr(res, key, as_device_like(getattr(res, key)))
    logits = as_device_like(logits)
    with count_host_syncs() as ours:
        out = head.loss_and_target(logits, sampling, gts, cfg)
    # what mmdet's FCNMaskHead reads for its targets, once per step
    with count_host_syncs() as mmdet_targets:
        FCNMaskHead.get_targets(head, sampling, gts, cfg)
    assert mmdet_targets['count'] > 0
    assert ours['count'] == mmdet_targets['count'], ours['ops']
    assert torch.equal(out['loss_mask']['loss_mask'],
                       expected['loss_mask']['loss_mask'])
    assert torch.equal(out['mask_targets'], expected['mask_targets'])


def test_ignore_masks_are_padded_like_the_masks():
    # mmdet's data preprocessor pads the gt masks to the batch shape but not
    # the ignore masks; a RoI past the unpadded image is clipped the same way
    # for both projections.
    head = _seed_growing_head()
    logits, sampling, gts, cfg = _head_inputs()
    sampling[0].pos_priors[1] = torch.tensor([30., 20., 70., 68.])
    padded_shape = (SIZE + 8, SIZE + 8)
    batch = [
        InstanceData(
            masks=gt.masks.pad(padded_shape, 0),
            ignore_masks=gt.ignore_masks) for gt in gts
    ]
    out = head.loss_and_target(logits, sampling, batch, cfg)

    def targets(masks):
        return head.get_targets(
            sampling, [InstanceData(masks=m) for m in masks], cfg)

    targets_fg = targets([gt.masks for gt in batch])
    targets_ignore = targets(
        [gt.ignore_masks.pad(padded_shape, 0) for gt in batch])
    # unpadded, the RoI would be clipped at the image for the ignore mask
    assert not torch.equal(targets_ignore,
                           targets([gt.ignore_masks for gt in batch]))
    assert torch.equal(out['mask_targets'], targets_fg)
    labels = torch.tensor([0, 2, 1])
    torch.testing.assert_close(
        out['loss_mask']['loss_mask'],
        seed_growing_mask_loss(logits[torch.arange(3), labels], targets_fg,
                               targets_ignore))


@pytest.mark.gpu
def test_cuda_loss_step_uses_mmdet_targets():
    # On the GPU both masks are projected in one mask_target call; the
    # projection itself is compared on one device, as RoIAlign values of
    # exactly 0.5 (binarised with >=) may round differently on another.
    # test_losses.py compares the loss itself between devices.
    if get_compiling_cuda_version() == 'not available':
        pytest.skip('mmcv was built without CUDA ops (mmdet projects the '
                    'mask targets with mmcv.ops.roi_align on their device)')
    head = _seed_growing_head().cuda()
    logits, sampling, gts, cfg = _head_inputs()
    sampling = [
        _Sampling(res.pos_priors.cuda(), res.pos_assigned_gt_inds.cuda(),
                  res.pos_gt_labels.cuda()) for res in sampling
    ]
    logits = logits.cuda().requires_grad_(True)
    out = head.loss_and_target(logits, sampling, gts, cfg)
    targets_fg = head.get_targets(sampling, gts, cfg)
    targets_ignore = head.get_targets(
        sampling, [InstanceData(masks=gt.ignore_masks) for gt in gts], cfg)
    assert out['mask_targets'].is_cuda
    assert torch.equal(out['mask_targets'], targets_fg)
    expected = seed_growing_mask_loss(
        logits[torch.arange(3), torch.tensor([0, 2, 1])], targets_fg,
        targets_ignore)
    torch.testing.assert_close(
        out['loss_mask']['loss_mask'], expected, rtol=0, atol=0)
    out['loss_mask']['loss_mask'].backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.any()


def test_seed_growing_switch():
    init_default_scope('mmdet')
    cfg = dict(
        type='mmwsss.SeedGrowingMaskHead',
        num_convs=1,
        in_channels=8,
        conv_out_channels=8,
        num_classes=3)
    with pytest.raises(TypeError, match='seed_growing'):
        MODELS.build(dict(cfg, seed_growing='no'))
    assert MODELS.build(cfg).seed_growing is True
    head = MODELS.build(dict(cfg, seed_growing=False))
    logits, sampling, gts, train_cfg = _head_inputs()
    logits = logits * 10  # confident predictions: growing changes labels
    out = head.loss_and_target(logits, sampling, gts, train_cfg)
    targets_fg = head.get_targets(sampling, gts, train_cfg)
    targets_ignore = head.get_targets(
        sampling, [InstanceData(masks=gt.ignore_masks) for gt in gts],
        train_cfg)
    own = logits[torch.arange(3), torch.tensor([0, 2, 1])]
    torch.testing.assert_close(
        out['loss_mask']['loss_mask'],
        seed_growing_mask_loss(own, targets_fg, targets_ignore, grow=False))
    grown = MODELS.build(cfg).loss_and_target(logits, sampling, gts,
                                              train_cfg)
    assert not torch.allclose(out['loss_mask']['loss_mask'],
                              grown['loss_mask']['loss_mask'])
