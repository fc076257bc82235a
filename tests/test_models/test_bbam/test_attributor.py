# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.BBAM on a tiny random Faster R-CNN, and the configs/bbam configs."""
import copy
import glob
import os.path as osp

import mmcv
import mmdet
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.structures import InstanceData

from mmwsss.fileio import read_mcg_proposals, write_mcg_proposals
from mmwsss.models.bbam import (BBAM, attributor, bbam_pseudo_masks,
                                bbam_stride, pseudo_labels)
from mmwsss.testing import as_device_like, count_host_syncs
from mmwsss.utils import to_numpy

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
FASTER_RCNN = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models',
    'faster-rcnn_r50_fpn.py')
BBAM_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'bbam', '*.py')))


def tiny_detector_cfg(num_classes: int = 3) -> dict:
    """Faster R-CNN from mmdet's base config, ResNet-18 at 1/8 width."""
    model = copy.deepcopy(Config.fromfile(FASTER_RCNN).model.to_dict())
    model['backbone'].update(depth=18, base_channels=8, init_cfg=None)
    model['neck'].update(in_channels=[8, 16, 32, 64], out_channels=16)
    model['rpn_head'].update(in_channels=16, feat_channels=16)
    model['roi_head']['bbox_roi_extractor']['out_channels'] = 16
    model['roi_head']['bbox_head'].update(
        in_channels=16, fc_out_channels=32, num_classes=num_classes)
    return model


def tiny_bbam(**kwargs) -> BBAM:
    """A BBAM over a tiny Faster R-CNN with random weights."""
    torch.manual_seed(0)
    kwargs.setdefault('num_proposals', 1000)
    kwargs.setdefault('num_iters', 2)
    model = BBAM(tiny_detector_cfg(), **kwargs)
    model.detector.init_weights()
    return model.eval()


def fit_classifier(model: BBAM,
                   image: torch.Tensor,
                   boxes,
                   labels,
                   background: bool = False) -> None:
    """Make the random classifier recognise each box as its label.

    Class ``c`` scores the projection of the RoI feature, centred on the
    mean feature of the boxes, on the unit direction of its boxes' mean
    feature, so that a box's own class wins on it and on proposals close to
    it, as with a trained detector. The background logit is -10, or +10
    with ``background`` (nothing is ever positive).
    """
    bbox_head = model.detector.roi_head.bbox_head
    captured = []
    hook = bbox_head.fc_cls.register_forward_hook(
        lambda module, args, out: captured.append(args[0]))
    with torch.no_grad():
        feats = model.detector.extract_feat(image[None])
        rois = torch.cat([
            torch.zeros(len(boxes), 1),
            torch.tensor(boxes, dtype=torch.float32)
        ],
                         dim=1)
        model.detector.roi_head._bbox_forward(feats, rois)
    hook.remove()
    features = captured[0]
    centre = features.mean(dim=0)
    with torch.no_grad():
        bbox_head.fc_cls.weight.zero_()
        bbox_head.fc_cls.bias.zero_()
        for label in set(labels):
            rows = [i for i, lab in enumerate(labels) if lab == label]
            direction = features[rows].mean(dim=0) - centre
            direction = direction / direction.norm()
            bbox_head.fc_cls.weight[label] = direction
            bbox_head.fc_cls.bias[label] = -centre @ direction
        bbox_head.fc_cls.bias[-1] = 10 if background else -10


HEIGHT, WIDTH = 48, 72
BOXES = [[4., 4., 38., 33.], [22., 15., 69., 45.], [34., 2., 56., 23.]]
LABELS = [0, 1, 2]


def _image() -> torch.Tensor:
    return torch.randn(
        3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(1))


def _explain(model, boxes, labels, seed=0):
    dtype = next(model.parameters()).dtype
    return model.explain(
        _image().to(dtype),
        torch.tensor(boxes, dtype=dtype),
        torch.tensor(labels),
        padded_shape=(HEIGHT, WIDTH + 32),
        generator=np.random.default_rng(seed))


@pytest.fixture(scope='module')
def model():
    model = tiny_bbam()
    fit_classifier(model, _image(), BOXES, LABELS)
    return model


def test_batched_masks_follow_the_one_at_a_time_loop():
    # float64: float32 rounding of batched convolutions can flip the
    # subgradient of an L1 residual that is zero up to rounding.
    model = tiny_bbam()
    fit_classifier(model, _image(), BOXES, LABELS)
    model.double()
    model.max_objects_per_batch = None
    batched = _explain(model, BOXES, LABELS)
    model.max_objects_per_batch = 1
    single = _explain(model, BOXES, LABELS)
    assert (batched.num_positives > 0).all()
    assert torch.equal(batched.num_positives, single.num_positives)
    for a, b in zip(batched.bbams, single.bbams):
        assert torch.equal(a, b)
    # two iterations moved the masks off their binary initialisation
    assert any(((m > 0) & (m < 1)).any() for m in batched.bbams)


def test_unread_levels_are_skipped_without_changing_the_maps(monkeypatch):
    # a small finest_scale spreads the test's boxes over levels 1 and 2
    model = tiny_bbam()
    model.detector.roi_head.bbox_roi_extractor.finest_scale = 8
    fit_classifier(model, _image(), BOXES, LABELS)
    model.double()
    model.max_objects_per_batch = None
    rois = torch.tensor([[0., *box] for box in BOXES], dtype=torch.float64)
    assert model._unused_levels(rois) == [0, 3]
    image = _image()[None].double()
    full_feats = model.detector.extract_feat(image)
    feats = model._extract_feat(image, [0, 3])
    assert feats[0].numel() == feats[3].numel() == 0
    for level in (1, 2):
        assert torch.equal(feats[level], full_feats[level])
    skipped = _explain(model, BOXES, LABELS)
    # a neck other than mmdet's FPN: the unused levels are only detached
    with monkeypatch.context() as patch:
        patch.setattr(attributor, 'FPN', type('OtherNeck', (), {}))
        detached = _explain(model, BOXES, LABELS)
    monkeypatch.setattr(model, '_unused_levels', lambda rois: [])
    full = _explain(model, BOXES, LABELS)
    assert (skipped.num_positives > 0).all()
    for a, b, c in zip(skipped.bbams, detached.bbams, full.bbams):
        assert torch.equal(a, c) and torch.equal(b, c)


def test_torchvision_roi_align_gives_the_mmcv_maps():
    maps = []
    for torchvision_roi_align in (True, False):
        model = tiny_bbam(torchvision_roi_align=torchvision_roi_align)
        fit_classifier(model, _image(), BOXES, LABELS)
        model.double()
        layers = model.detector.roi_head.bbox_roi_extractor.roi_layers
        assert all(layer.use_torchvision == torchvision_roi_align
                   for layer in layers)
        maps.append(_explain(model, BOXES, LABELS).bbams)
    for a, b in zip(*maps):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)


def test_channels_last_detector_gives_the_same_maps():
    # torchvision's RoIAlign (BBAM's default) reads channels-last features
    # correctly; mmcv 2.1's CPU kernel would not.
    model = tiny_bbam()
    fit_classifier(model, _image(), BOXES, LABELS)
    model.double()
    contiguous = _explain(model, BOXES, LABELS)
    model.to(memory_format=torch.channels_last)
    assert model.detector.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    channels_last = _explain(model, BOXES, LABELS)
    assert (contiguous.num_positives > 0).all()
    assert torch.equal(contiguous.num_positives, channels_last.num_positives)
    for a, b in zip(contiguous.bbams, channels_last.bbams):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)


def test_outputs_strides_grids_and_frozen_detector(model):
    result = _explain(model, BOXES, LABELS)
    for k, box in enumerate(BOXES):
        stride = bbam_stride(box, (HEIGHT, WIDTH))
        assert result.strides[k].item() == pytest.approx(stride, rel=1e-6)
        assert result.bbams[k].shape == (int(HEIGHT / stride),
                                         int(WIDTH / stride))
        assert 0 <= result.bbams[k].min() and result.bbams[k].max() <= 1
    assert set(np.round(result.iou_thresholds.tolist(), 2)) <= {0.9, 0.85, 0.8}
    assert all(not p.requires_grad and p.grad is None
               for p in model.detector.parameters())


def test_same_seed_same_result(model):
    model.num_iters = 1
    try:
        first, again, other = (
            _explain(model, BOXES, LABELS, seed=seed) for seed in (3, 3, 4))
    finally:
        model.num_iters = 2
    assert torch.equal(first.num_positives, again.num_positives)
    assert all(torch.equal(a, b) for a, b in zip(first.bbams, again.bbams))
    # other jitter, other positives
    assert not torch.equal(first.num_positives, other.num_positives)


def test_box_without_positives_gets_a_zero_map():
    model = tiny_bbam()
    fit_classifier(model, _image(), BOXES, LABELS, background=True)
    result = _explain(model, BOXES, LABELS)
    assert result.num_positives.tolist() == [0, 0, 0]
    assert all(not m.any() for m in result.bbams)
    # the cascade ran to its last threshold
    assert result.iou_thresholds.tolist() == pytest.approx([0.8] * 3)


def test_border_tiny_and_degenerate_boxes():
    boxes = [
        [0., 0., 30., 24.],  # touches the top-left corner
        [44., 24., 72., 48.],  # touches the bottom-right corner
        [30., 30., 34., 34.],  # 4 x 4 pixels
        [20., 10., 20.5, 40.],  # narrower than min_box_size
    ]
    labels = [0, 1, 2, 0]
    model = tiny_bbam()
    fit_classifier(model, _image(), boxes[:3], labels[:3])
    result = _explain(model, boxes, labels)
    assert result.num_positives[:2].min() > 0
    assert result.num_positives[3] == 0
    assert np.isnan(result.iou_thresholds[3].item())
    assert not result.bbams[3].any()
    for bbam in result.bbams:
        assert torch.isfinite(bbam).all()
        assert 0 <= bbam.min() and bbam.max() <= 1


def test_twenty_boxes_in_chunks_equal_one_batch():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 30, size=(20, 2))
    sizes = rng.uniform(12, 36, size=(20, 2))
    boxes = np.concatenate(
        [corners, np.minimum(corners + sizes, [WIDTH, HEIGHT])],
        axis=1).tolist()
    labels = rng.integers(0, 3, size=20).tolist()
    model = tiny_bbam(num_iters=1)
    fit_classifier(model, _image(), boxes, labels)
    model.double()
    model.max_objects_per_batch = None
    whole = _explain(model, boxes, labels)
    model.max_objects_per_batch = 8
    chunks = _explain(model, boxes, labels)
    assert len(whole.bbams) == len(chunks.bbams) == 20
    assert (whole.num_positives > 0).sum() >= 10
    for a, b in zip(whole.bbams, chunks.bbams):
        assert torch.equal(a, b)


def test_mask_optimisation_never_waits_for_the_device(model):
    # Device-like inputs: every read that would wait for a GPU is counted.
    def explain(num_iters):
        model.num_iters = num_iters
        try:
            with count_host_syncs() as syncs:
                result = model.explain(
                    as_device_like(_image()),
                    as_device_like(torch.tensor(BOXES)),
                    as_device_like(torch.tensor(LABELS)),
                    padded_shape=(HEIGHT, WIDTH + 32),
                    generator=np.random.default_rng(0))
        finally:
            model.num_iters = 2
        return result, syncs

    (result, two), (_, six) = explain(2), explain(6)
    assert (result.num_positives > 0).all()
    # reads before and after the loop only, none per iteration
    assert two['count'] == six['count'], (two['ops'], six['ops'])
    # the maps, plain host tensors, are those of host inputs
    for device_map, host_map in zip(result.bbams,
                                    _explain(model, BOXES, LABELS).bbams):
        assert type(device_map) is torch.Tensor
        assert torch.equal(device_map, host_map)


@pytest.mark.gpu
def test_cuda_maps_equal_cpu_maps():
    # An image 4x larger than _image(), so that the maps have several cells,
    # and float64 on both devices (no TF32): only rounding differs.
    height, width = 4 * HEIGHT, 4 * WIDTH
    image = torch.randn(
        3, height, width, generator=torch.Generator().manual_seed(1))
    boxes = (4 * np.array(BOXES)).tolist()
    model = tiny_bbam(num_iters=5, lr=0.1, num_proposals=300)
    fit_classifier(model, image, boxes, LABELS)
    model.double()
    results = []
    for device in ('cpu', 'cuda'):
        model.to(device)
        results.append(
            model.explain(
                image.double().to(device),
                torch.tensor(boxes, dtype=torch.float64, device=device),
                torch.tensor(LABELS, device=device),
                padded_shape=(height, width + 32),
                generator=np.random.default_rng(0)))
    cpu, cuda = results
    assert (cpu.num_positives > 0).all()
    assert torch.equal(cuda.num_positives, cpu.num_positives)
    assert torch.equal(cuda.iou_thresholds, cpu.iou_thresholds)
    assert any(((m > 0) & (m < 1)).any() for m in cpu.bbams)
    for a, b in zip(cuda.bbams, cpu.bbams):
        assert a.device.type == 'cpu'
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def _sample(boxes, labels, ignored=None, scale=2.0):
    sample = DetDataSample(
        metainfo=dict(
            img_path='/data/some_image.jpg',
            img_id=7,
            ori_shape=(HEIGHT // 2, WIDTH // 2),
            img_shape=(HEIGHT, WIDTH),
            scale_factor=(scale, scale)))
    sample.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.tensor(boxes)),
        labels=torch.tensor(labels))
    sample.ignored_instances = InstanceData(
        bboxes=HorizontalBoxes(
            torch.tensor(ignored or [], dtype=torch.float32).reshape(-1, 4)),
        labels=torch.zeros(len(ignored or []), dtype=torch.long))
    return sample


def test_predict_under_no_grad_maps_frames_and_ignored(model):
    # boxes in the original frame; the network sees them x2
    original = (np.array(BOXES[:2]) / 2).tolist()
    ignored = (np.array(BOXES[2:]) / 2).tolist()
    sample = _sample(original, [0, 1], ignored=ignored)
    inputs = torch.nn.functional.pad(_image()[None], (0, 32, 0, 0))
    with torch.no_grad():
        (out, ) = model.predict(inputs, [sample])
    pred = out.pred_instances
    assert torch.equal(pred.bboxes, torch.tensor(original + ignored))
    assert pred.from_ignored.tolist() == [False, False, True]
    assert pred.labels.tolist() == [0, 1, 0]
    assert len(pred.bbams) == 3 and (pred.num_positives[:2] > 0).all()
    # the network frame is the original frame times scale_factor
    assert pred.strides[0].item() == pytest.approx(
        bbam_stride(BOXES[0], (HEIGHT, WIDTH)), rel=1e-6)

    model.explain_ignored = False
    try:
        (only_gt, ) = model.predict(
            inputs, [_sample(original, [0, 1], ignored=ignored)])
    finally:
        model.explain_ignored = True
    assert len(only_gt.pred_instances) == 2
    # the jitter is seeded by the file name: the same maps again
    for a, b in zip(pred.bbams[:2], only_gt.pred_instances.bbams):
        assert torch.equal(a, b)


def test_image_without_boxes(model):
    sample = _sample([], [])
    sample.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.zeros(0, 4)),
        labels=torch.zeros(0, dtype=torch.long))
    (out, ) = model.predict(_image()[None], [sample])
    assert len(out.pred_instances) == 0


@pytest.mark.parametrize('num_workers', [0, 2])
def test_predict_makes_pseudo_masks_on_the_original_image(
        model, num_workers, monkeypatch):
    # CRF processes for the test's small image too
    monkeypatch.setattr(pseudo_labels, '_MIN_PIXELS_FOR_WORKERS', 0)
    original = (np.array(BOXES) / 2).tolist()
    sample = _sample(original, LABELS)
    image = np.random.default_rng(0).integers(
        0, 256, (HEIGHT // 2, WIDTH // 2, 3), dtype=np.uint8)
    sample.set_metainfo(dict(ori_img=image))
    inputs = torch.nn.functional.pad(_image()[None], (0, 32, 0, 0))
    settings = dict(fg_rank_fraction=0.8, ignore_rank_fraction=0.3)
    model.pseudo_mask_cfg = settings
    model.num_workers = num_workers  # CRFs in forked processes: same masks
    try:
        (out, ) = model.predict(inputs, [sample])
    finally:
        model.pseudo_mask_cfg = None
        model.num_workers = 0
    pred = out.pred_instances
    assert (pred.num_positives > 0).any()
    # the pseudo-label step on the maps and the original image
    expected = bbam_pseudo_masks(pred.bbams, pred.num_positives, pred.bboxes,
                                 pred.labels, image, **settings)
    assert pred.masks.shape == (3, HEIGHT // 2, WIDTH // 2)
    for key in ('masks', 'ignore_masks', 'bbam_missing', 'box_filled'):
        assert pred[key].dtype == torch.bool
        assert np.array_equal(pred[key].numpy(), expected[key]), key
    assert out.pred_sem_seg.sem_seg.shape == (1, HEIGHT // 2, WIDTH // 2)
    assert np.array_equal(out.pred_sem_seg.sem_seg[0].numpy(),
                          expected['sem_seg'])


def test_predict_refines_the_pseudo_masks_with_mcg_proposals(
        model, tmp_path):
    # the original frame is the network's here: boxes over 32 x 32 pixels
    sample = _sample(BOXES, LABELS, scale=1.0)
    image = np.random.default_rng(0).integers(
        0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    sample.set_metainfo(dict(ori_img=image))
    # <mcg_dir>/<image file stem>.mat: 6 x 6 blocks of 8 x 12 pixels,
    # proposals of blocks
    blocks = np.arange(36).reshape(6, 6).repeat(8, 0).repeat(12, 1) + 1
    labels = [[1, 2, 7, 8], [15, 16, 17, 21, 22, 23, 27, 28, 29], [22], [36]]
    write_mcg_proposals(str(tmp_path / 'some_image.mat'), blocks, labels)
    model.pseudo_mask_cfg = dict(
        fg_rank_fraction=0.85, ignore_rank_fraction=0.2,
        mcg_dir=str(tmp_path))
    try:
        (out, ) = model.predict(_image()[None], [sample])
    finally:
        model.pseudo_mask_cfg = None
    pred = out.pred_instances
    mcg = read_mcg_proposals(str(tmp_path / 'some_image.mat'))
    plain = bbam_pseudo_masks(pred.bbams, pred.num_positives, pred.bboxes,
                              pred.labels, image)
    expected = bbam_pseudo_masks(
        pred.bbams, pred.num_positives, pred.bboxes, pred.labels, image,
        mcg=(mcg.superpixels, mcg.membership))
    # only box 1 (47 x 30 pixels) is over 32 x 32
    assert pred.mcg_refined.tolist() == [False, True, False]
    for key in ('masks', 'ignore_masks', 'mcg_refined'):
        assert np.array_equal(to_numpy(pred[key]), expected[key]), key
    assert not np.array_equal(expected['masks'], plain['masks'])
    np.testing.assert_array_equal(to_numpy(out.pred_sem_seg.sem_seg[0]),
                                  plain['sem_seg'])
    # a missing file names itself
    sample = _sample(BOXES, LABELS, scale=1.0)
    sample.set_metainfo(dict(ori_img=image, img_path='/data/other.jpg'))
    model.pseudo_mask_cfg = dict(mcg_dir=str(tmp_path))
    try:
        with pytest.raises(FileNotFoundError, match='other.mat'):
            model.predict(_image()[None], [sample])
    finally:
        model.pseudo_mask_cfg = None


def test_mcg_settings_are_checked_at_build_time():
    with pytest.raises(TypeError, match='need mcg_dir'):
        BBAM(tiny_detector_cfg(), pseudo_mask_cfg=dict(mcg_count='pixels'))
    with pytest.raises(ValueError, match='mcg_count must be one of'):
        BBAM(tiny_detector_cfg(),
             pseudo_mask_cfg=dict(mcg_dir='MCG', mcg_count='coords'))
    model = BBAM(tiny_detector_cfg(), pseudo_mask_cfg=dict(mcg_dir='MCG'))
    assert model.pseudo_mask_cfg == dict(
        fg_rank_fraction=0.85, ignore_rank_fraction=0.2, mcg_dir='MCG')


@pytest.mark.parametrize('variant, base', [
    ('bbam_faster-rcnn_r101-caffe_fpn_voc12aug-mcg.py',
     'bbam_faster-rcnn_r101-caffe_fpn_voc12aug.py'),
    ('bbam_faster-rcnn_r50-caffe_fpn_coco14-mcg.py',
     'bbam_faster-rcnn_r50-caffe_fpn_coco14.py'),
    ('mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam-mcg.py',
     'mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py'),
    ('mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam-mcg.py',
     'mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam.py'),
])
def test_mcg_configs_change_only_the_mcg_inputs(variant, base):
    folder = osp.dirname(BBAM_CONFIGS[0])
    cfg = Config.fromfile(osp.join(folder, variant)).to_dict()
    base = Config.fromfile(osp.join(folder, base)).to_dict()
    if variant.startswith('bbam_'):
        mcg_dir = cfg['model']['pseudo_mask_cfg'].pop('mcg_dir')
        assert mcg_dir.startswith(cfg['data_root']) and mcg_dir.endswith(
            '/MCG')
    else:
        # trained on the jsons of the MCG run of the same detector
        dataset, base_dataset = (c['train_dataloader']['dataset']
                                 for c in (cfg, base))
        for key in ('ann_file', 'ignore_ann_file'):
            assert dataset[key] == base_dataset[key].replace(
                base['bbam_dir'], cfg['bbam_dir'])
            assert '-mcg/bbam/' in dataset[key]
            dataset[key] = base_dataset[key]
        cfg['bbam_dir'] = base['bbam_dir']
    assert cfg == base


def test_pseudo_mask_settings_and_original_image_are_checked():
    with pytest.raises(TypeError, match='fg_rank'):
        BBAM(tiny_detector_cfg(), pseudo_mask_cfg=dict(fg_rank=0.8))
    # at build time, not at the first image
    with pytest.raises(ValueError, match='fg_rank_fraction must lie'):
        BBAM(tiny_detector_cfg(), pseudo_mask_cfg=dict(fg_rank_fraction=85))
    model = tiny_bbam(num_proposals=10, num_iters=0, pseudo_mask_cfg=dict())
    assert model.pseudo_mask_cfg == dict(
        fg_rank_fraction=0.85, ignore_rank_fraction=0.2)
    sample = _sample((np.array(BOXES[:1]) / 2).tolist(), [0])
    with pytest.raises(KeyError, match='KeepOriginalImage'):
        model.predict(_image()[None], [sample])


def test_detector_checkpoint_loads_into_the_wrapper(tmp_path):
    source = tiny_bbam()
    path = str(tmp_path / 'detector.pth')
    torch.save(dict(state_dict=source.detector.state_dict()), path)
    expected = source.detector.roi_head.bbox_head.fc_cls.bias

    by_arg = BBAM(tiny_detector_cfg(), detector_checkpoint=path)
    assert torch.equal(by_arg.detector.roi_head.bbox_head.fc_cls.bias,
                       expected)
    # what tools/test.py does with its checkpoint argument
    by_runner = BBAM(tiny_detector_cfg())
    load_checkpoint(by_runner, path, strict=True)
    assert torch.equal(by_runner.detector.roi_head.bbox_head.fc_cls.bias,
                       expected)
    # a BBAM checkpoint loads as is
    wrapped = str(tmp_path / 'bbam.pth')
    torch.save(dict(state_dict=by_runner.state_dict()), wrapped)
    again = BBAM(tiny_detector_cfg())
    load_checkpoint(again, wrapped, strict=True)
    assert torch.equal(again.detector.roi_head.bbox_head.fc_cls.bias, expected)
    assert not any(p.requires_grad for p in again.parameters())


def test_training_is_refused(model):
    with pytest.raises(RuntimeError, match='only predicts'):
        model(torch.zeros(1, 3, 32, 32), [], mode='loss')
    tiny = tiny_detector_cfg()
    rpn_only = dict(
        type='RPN',
        data_preprocessor=tiny['data_preprocessor'],
        backbone=tiny['backbone'],
        neck=tiny['neck'],
        rpn_head=tiny['rpn_head'],
        train_cfg=tiny['train_cfg'],
        test_cfg=tiny['test_cfg'])
    with pytest.raises(TypeError, match='StandardRoIHead'):
        BBAM(rpn_only)


def _types(node):
    # Every registry type named in a config subtree.
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node
        for value in node.values():
            yield from _types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _types(value)


@pytest.mark.parametrize('path', BBAM_CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert isinstance(model, torch.nn.Module)
    for key, registry in (('test_dataloader', DATASETS), ('train_dataloader',
                                                          DATASETS)):
        if cfg.get(key) is None:  # BBAM configs are test jobs only
            continue
        dataset = cfg[key]['dataset']
        assert registry.get(dataset['type']) is not None, dataset['type']
        for step in dataset['pipeline']:
            assert TRANSFORMS.get(step['type']) is not None, step['type']
    evaluators = cfg.test_evaluator
    for evaluator in (evaluators
                      if isinstance(evaluators, list) else [evaluators]):
        assert METRICS.get(evaluator['type']) is not None


@pytest.mark.parametrize(
    'path', [p for p in BBAM_CONFIGS if 'synthvoc' in p], ids=osp.basename)
def test_synthvoc_config_datasets_build(path, tiny_synthvoc):
    cfg = Config.fromfile(path)
    init_default_scope('mmdet')
    dataset = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset.update(
        data_root=tiny_synthvoc + '/', data_prefix=dict(img='JPEGImages/'))
    built = DATASETS.build(dataset)
    sample = built[0]
    assert 'gt_instances' in sample['data_samples']
    assert sample['data_samples'].scale_factor[0] > 1
    if osp.basename(path).startswith('bbam_'):
        # the pseudo-masks' CRF sees the image as read from disk, while the
        # network sees it resized
        data_sample = sample['data_samples']
        assert np.array_equal(data_sample.ori_img,
                              mmcv.imread(data_sample.img_path))
        assert sample['inputs'].shape[1:] != data_sample.ori_img.shape[:2]


def test_fixed_mask_stride(model):
    with pytest.raises(ValueError, match='mask_stride'):
        tiny_bbam(mask_stride=0)
    assert model.mask_stride is None
    adaptive = _explain(model, BOXES, LABELS)
    model.mask_stride = 8.0
    try:
        fixed = _explain(model, BOXES, LABELS)
    finally:
        model.mask_stride = None
    assert (fixed.strides == 8).all()
    assert not torch.allclose(fixed.strides, adaptive.strides)
    for bbam in fixed.bbams:
        assert bbam.shape == (int(HEIGHT / 8), int(WIDTH / 8))
    assert torch.equal(fixed.num_positives, adaptive.num_positives)


@pytest.mark.parametrize('variant, base, changed', [
    ('bbam_faster-rcnn_r18w32_fpn_synthvoc-240_stride-32.py',
     'bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py', dict(mask_stride=32.0)),
    ('mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam_no-grow.py',
     'mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py', None),
    ('faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240_noisy-box20.py',
     'faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py', {}),
    ('bbam_faster-rcnn_r18w32_fpn_synthvoc-240_noisy-box20.py',
     'bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py', {}),
])
def test_ablation_configs_change_their_switch(variant, base, changed):
    folder = osp.dirname(BBAM_CONFIGS[0])
    cfg = Config.fromfile(osp.join(folder, variant))
    base = Config.fromfile(osp.join(folder, base))
    model, base_model = cfg.model.to_dict(), base.model.to_dict()
    if changed is None:  # the mask head's switch
        mask_head = model['roi_head']['mask_head']
        assert mask_head.pop('seed_growing') is False
        assert model == base_model
        return
    assert model == dict(base_model, **changed)
    if 'noisy' in variant:
        key = ('train_dataloader'
               if variant.startswith('faster') else 'test_dataloader')
        pipeline = cfg[key].dataset.pipeline
        base_pipeline = base[key].dataset.pipeline
        noise, = [i for i, s in enumerate(pipeline)
                  if s.type == 'mmwsss.JitterBoxes']
        assert pipeline[noise - 1].type == 'LoadAnnotations'
        assert pipeline[:noise] + pipeline[noise + 1:] == base_pipeline
        assert pipeline[noise].ratio == 0.2
    if variant.startswith('bbam_'):
        # each writes into its own run's work dir
        assert cfg.test_evaluator[0].output_dir == '{work_dir}/bbam/maps'
