# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM writers (maps, pseudo-mask jsons, semantic PNGs) and the pseudo-mask
metric; end to end through tools/test.py on SynthVOC."""
import json
import os
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmdet.datasets import CocoDataset
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData

from mmwsss.datasets import BoxPseudoCocoDataset
from mmwsss.datasets.voc_wsss import read_label_map
from mmwsss.evaluation import (BBAMPseudoMaskWriter, BBAMWriter,
                               BoxPseudoMaskMetric)
from mmwsss.evaluation.writers import read_bbam_file
from mmwsss.models.bbam import bbam_pseudo_masks
from mmwsss.testing import free_port

CLASSES = ('train', 'boat', 'aeroplane')
HEIGHT, WIDTH = 60, 80
# Two objects: a bright square and a dark disc, on a mid-grey background.
OBJECT_BOXES = [[10., 8., 40., 38.], [44., 20., 76., 52.]]


def _gt_masks() -> np.ndarray:
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    square = (xx >= 14) & (xx < 36) & (yy >= 12) & (yy < 34)
    disc = (xx - 60)**2 + (yy - 36)**2 < 14**2
    return np.stack([square, disc])


@pytest.fixture
def image_file(tmp_path) -> str:
    masks = _gt_masks()
    image = np.full((HEIGHT, WIDTH, 3), 128, dtype=np.uint8)
    image[masks[0]] = (250, 240, 230)
    image[masks[1]] = (20, 30, 40)
    path = str(tmp_path / 'img_0001.jpg')
    mmcv.imwrite(image, path)
    return path


def _bbams(num_positives=(5, 5)) -> InstanceData:
    # Maps on coarse grids, high on the objects (as BBAMs are).
    masks = _gt_masks().astype(np.float32)
    grids = [(6, 8), (4, 5)]
    bbams = [
        torch.from_numpy(mmcv.imresize(m, (w, h), interpolation='area'))
        for m, (h, w) in zip(masks, grids)
    ]
    return InstanceData(
        bboxes=torch.tensor(OBJECT_BOXES),
        labels=torch.tensor([0, 2]),
        bbams=bbams,
        num_positives=torch.tensor(num_positives),
        iou_thresholds=torch.tensor([0.9, 0.8]),
        strides=torch.tensor([10., 15.]),
        from_ignored=torch.tensor([False, False]))


def _add_pseudo_masks(sample: DetDataSample, image: np.ndarray) -> None:
    # What mmwsss.BBAM(pseudo_mask_cfg=dict()) adds to its prediction.
    pred = sample.pred_instances
    pseudo = bbam_pseudo_masks(pred.bbams, pred.num_positives, pred.bboxes,
                               pred.labels, image)
    for key in ('masks', 'ignore_masks', 'bbam_missing', 'box_filled'):
        setattr(pred, key, torch.from_numpy(pseudo[key]))
    sample.pred_sem_seg = PixelData(
        sem_seg=torch.from_numpy(pseudo['sem_seg'])[None])


def _sample(image_file: str, img_id=1, pseudo=True, **kwargs) -> dict:
    # What an evaluator receives: DetDataSample.to_dict().
    sample = DetDataSample(
        metainfo=dict(
            img_path=image_file,
            img_id=img_id,
            ori_shape=(HEIGHT, WIDTH),
            scale_factor=(1.0, 1.0)))
    sample.pred_instances = _bbams(**kwargs)
    if pseudo:
        _add_pseudo_masks(sample, mmcv.imread(image_file))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(OBJECT_BOXES),
        labels=torch.tensor([0, 2]),
        masks=BitmapMasks(_gt_masks().astype(np.uint8), HEIGHT, WIDTH))
    return sample.to_dict()


def _mask_writer(tmp_path, **kwargs) -> BBAMPseudoMaskWriter:
    writer = BBAMPseudoMaskWriter(
        output_dir=str(tmp_path / 'masks'),
        fg_ann_file=str(tmp_path / 'fg.json'),
        ignore_ann_file=str(tmp_path / 'ignore.json'),
        semantic_dir=str(tmp_path / 'semantic'),
        **kwargs)
    writer.dataset_meta = dict(classes=CLASSES)
    return writer


def test_bbam_writer_round_trip(tmp_path, image_file):
    writer = BBAMWriter(output_dir=str(tmp_path / 'maps'))
    sample = _sample(image_file)
    writer.process(None, [sample])
    # named by sample_name: the image id first
    path = str(tmp_path / 'maps' / '1.npz')
    assert osp.isfile(path)
    loaded = read_bbam_file(path)
    expected = sample['pred_instances']
    assert torch.equal(loaded.bboxes, expected['bboxes'])
    assert torch.equal(loaded.labels, expected['labels'])
    for got, want in zip(loaded.bbams, expected['bbams']):
        assert got.shape == want.shape and got.dtype == torch.float32
        torch.testing.assert_close(got, want, atol=5e-4, rtol=0)
    assert loaded.num_positives.tolist() == [5, 5]

    # resumed items are read back into a data sample
    restored = writer.load_output(
        DetDataSample(metainfo=dict(img_path=image_file, img_id=1)))
    assert len(restored.pred_instances.bbams) == 2
    writer.process(None, [sample])
    assert [r['written'] for r in writer.results] == [True, False]
    metrics = writer.compute_metrics(writer.results)
    assert metrics == dict(written=1, skipped=0, failed=0)


def test_bbam_writer_without_objects(tmp_path, image_file):
    writer = BBAMWriter(output_dir=str(tmp_path))
    sample = _sample(image_file)
    sample['pred_instances'] = InstanceData(
        bboxes=torch.zeros(0, 4),
        labels=torch.zeros(0, dtype=torch.long),
        bbams=[],
        num_positives=torch.zeros(0, dtype=torch.long),
        iou_thresholds=torch.zeros(0),
        strides=torch.zeros(0),
        from_ignored=torch.zeros(0, dtype=torch.bool)).to_dict()
    writer.process(None, [sample])
    assert len(read_bbam_file(str(tmp_path / '1.npz'))) == 0


def test_pseudo_masks_jsons_and_semantic_labels(tmp_path, image_file):
    writer = _mask_writer(tmp_path)
    sample = _sample(image_file, img_id=1)
    writer.process(None, [sample])
    pred = sample['pred_instances']
    fg, ignore = pred['masks'].numpy(), pred['ignore_masks'].numpy()
    gt = _gt_masks()
    for k in range(2):
        iou = (fg[k] & gt[k]).sum() / (fg[k] | gt[k]).sum()
        assert iou > 0.7
        # the 0.2 rank fraction keeps more of the box than 0.85
        assert ignore[k].sum() >= fg[k].sum()
        x0, y0, x1, y1 = (int(v) for v in OBJECT_BOXES[k])
        outside = np.ones_like(fg[k])
        outside[y0:y1, x0:x1] = False
        assert not (fg[k] & outside).any()

    # named after the image file, as the segmentation datasets read it,
    # not after the integer COCO img_id
    assert os.listdir(tmp_path / 'semantic') == ['img_0001.png']
    label = read_label_map(str(tmp_path / 'semantic' / 'img_0001.png'), 3)
    assert set(np.unique(label)) <= {0, 1, 3, 255}
    assert (label[gt[0]] == 1).mean() > 0.7
    assert (label[gt[1]] == 3).mean() > 0.7

    metrics = writer.compute_metrics(writer.results)
    assert metrics['images'] == 1 and metrics['objects'] == 2
    assert metrics['bbam_missing'] == 0
    with open(tmp_path / 'fg.json') as f:
        fg_json = json.load(f)
    with open(tmp_path / 'ignore.json') as f:
        ignore_json = json.load(f)
    assert fg_json['images'] == ignore_json['images'] == [
        dict(id=1, file_name='img_0001.jpg', height=HEIGHT, width=WIDTH)
    ]
    assert fg_json['categories'] == [
        dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)
    ]
    for a, b in zip(fg_json['annotations'], ignore_json['annotations']):
        assert a['id'] == b['id'] and a['bbox'] == b['bbox']
        assert a['category_id'] == b['category_id']
        assert isinstance(a['segmentation']['counts'], str)
        assert a['area'] > 0 and a['iscrowd'] == 0
    assert [a['category_id'] for a in fg_json['annotations']] == [1, 3]
    assert fg_json['annotations'][0]['bbox'] == [10.0, 8.0, 30.0, 30.0]

    # mmdet reads the masks, and the pair reads as one dataset
    dataset = CocoDataset(
        ann_file=str(tmp_path / 'fg.json'),
        metainfo=dict(classes=CLASSES),
        data_prefix=dict(img=osp.dirname(image_file)),
        test_mode=True,
        pipeline=[])
    instances = dataset[0]['instances']
    assert [i['bbox_label'] for i in instances] == [0, 2]
    assert all(isinstance(i['mask']['counts'], str) for i in instances)
    paired = BoxPseudoCocoDataset(
        ann_file=str(tmp_path / 'fg.json'),
        ignore_ann_file=str(tmp_path / 'ignore.json'),
        metainfo=dict(classes=CLASSES),
        data_prefix=dict(img=osp.dirname(image_file)),
        test_mode=True,
        pipeline=[])
    assert all('ignore_mask' in i for i in paired[0]['instances'])


@pytest.mark.parametrize('as_crowd', [True, False])
def test_objects_from_ignored_instances_stay_ignored(tmp_path, image_file,
                                                     as_crowd):
    writer = _mask_writer(tmp_path, ignored_as_crowd=as_crowd)
    sample = _sample(image_file, img_id=1)
    sample['pred_instances']['from_ignored'] = torch.tensor([False, True])
    writer.process(None, [sample])
    writer.compute_metrics(writer.results)
    for name in ('fg.json', 'ignore.json'):
        with open(tmp_path / name) as f:
            flags = [a['iscrowd'] for a in json.load(f)['annotations']]
        assert flags == [0, int(as_crowd)]
    dataset = CocoDataset(
        ann_file=str(tmp_path / 'fg.json'),
        metainfo=dict(classes=CLASSES),
        data_prefix=dict(img=osp.dirname(image_file)),
        test_mode=True,
        pipeline=[])
    assert [i['ignore_flag'] for i in dataset[0]['instances']
            ] == [0, int(as_crowd)]


def test_missing_bbam_takes_the_box_path(tmp_path, image_file):
    writer = _mask_writer(tmp_path)
    sample = _sample(image_file, num_positives=(0, 5))
    writer.process(None, [sample])
    masks = sample['pred_instances']['masks'].numpy()
    assert masks[0].any() and masks[1].any()
    with open(tmp_path / 'masks' / '1.masks.json') as f:
        record = json.load(f)
    assert [o['bbam_missing'] for o in record['objects']] == [True, False]
    assert writer.compute_metrics(writer.results)['bbam_missing'] == 1


def test_resume_reads_the_masks_back(tmp_path, image_file):
    writer = _mask_writer(tmp_path)
    first = _sample(image_file)
    writer.process(None, [first])
    path = tmp_path / 'masks' / '1.masks.json'
    content = path.read_bytes()
    # a finished image is not written again
    again = _sample(image_file, num_positives=(0, 0))
    writer.process(None, [again])
    assert [r['written'] for r in writer.results] == [True, False]
    assert path.read_bytes() == content
    # what ResumableTestLoop does when every writer has its file
    restored = writer.load_output(
        DetDataSample(metainfo=dict(img_path=image_file, img_id=1)))
    assert torch.equal(restored.pred_instances.ignore_masks,
                       first['pred_instances']['ignore_masks'])
    assert restored.pred_instances.labels.tolist() == [0, 2]
    # a missing PNG means the image is not done
    os.remove(tmp_path / 'semantic' / 'img_0001.png')
    assert not writer.has_output(first)


def test_writer_only_writes(tmp_path, image_file):
    # the PNG is the model's pred_sem_seg as is, not recomputed
    writer = _mask_writer(tmp_path)
    sample = _sample(image_file)
    label = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    label[:10] = 3
    label[-5:] = 255
    sample['pred_sem_seg']['sem_seg'] = torch.from_numpy(label)[None]
    writer.process(None, [sample])
    assert np.array_equal(
        read_label_map(str(tmp_path / 'semantic' / 'img_0001.png'), 3), label)
    # the masks come from the model, the records hold them as they are
    restored = writer.load_output(DetDataSample(metainfo=dict(img_id=1)))
    for key in ('masks', 'ignore_masks', 'bbam_missing', 'box_filled'):
        assert torch.equal(restored.pred_instances[key],
                           sample['pred_instances'][key]), key
    # without the model's masks it cannot write anything
    with pytest.raises(KeyError, match='pseudo_mask_cfg'):
        writer.process(None, [_sample(image_file, img_id=2, pseudo=False)])


def test_records_flag_mcg_refinement_only_when_made(tmp_path, image_file):
    # without MCG the records and the summary are as before
    writer = _mask_writer(tmp_path / 'plain')
    writer.process(None, [_sample(image_file)])
    with open(tmp_path / 'plain' / 'masks' / '1.masks.json') as f:
        objects = json.load(f)['objects']
    assert [sorted(o) for o in objects] == [
        sorted(('bbox', 'label', 'fg', 'ignore', 'from_ignored',
                'bbam_missing', 'box_filled'))
    ] * 2
    summary = writer.compute_metrics(writer.results)
    assert 'mcg_refined' not in summary
    restored = writer.load_output(DetDataSample(metainfo=dict(img_id=1)))
    assert 'mcg_refined' not in restored.pred_instances
    # with it, each object says whether it was refined
    writer = _mask_writer(tmp_path / 'mcg')
    sample = _sample(image_file)
    sample['pred_instances']['mcg_refined'] = torch.tensor([True, False])
    writer.process(None, [sample])
    with open(tmp_path / 'mcg' / 'masks' / '1.masks.json') as f:
        objects = json.load(f)['objects']
    assert [o['mcg_refined'] for o in objects] == [True, False]
    assert writer.compute_metrics(writer.results)['mcg_refined'] == 1
    restored = writer.load_output(DetDataSample(metainfo=dict(img_id=1)))
    assert restored.pred_instances.mcg_refined.tolist() == [True, False]


def test_old_writer_settings_name_the_model_key(tmp_path):
    with pytest.raises(TypeError, match='pseudo_mask_cfg'):
        _mask_writer(tmp_path, fg_rank_fraction=0.85)


def test_string_image_ids_are_numbered_by_file_name(tmp_path, image_file):
    writer = _mask_writer(tmp_path)
    second = str(tmp_path / 'img_0000.jpg')
    mmcv.imwrite(mmcv.imread(image_file), second)
    writer.process(None, [
        _sample(image_file, img_id='img_0001'),
        _sample(second, img_id='img_0000')
    ])
    writer.compute_metrics(writer.results)
    with open(tmp_path / 'fg.json') as f:
        images = json.load(f)['images']
    assert [(i['id'], i['file_name']) for i in images] == [(1, 'img_0000.jpg'),
                                                           (2, 'img_0001.jpg')]


def _metric() -> BoxPseudoMaskMetric:
    metric = BoxPseudoMaskMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def test_metric_scores_masks_and_the_box_baseline(tmp_path, image_file):
    perfect = _sample(image_file)
    gt = torch.from_numpy(_gt_masks())
    perfect['pred_instances'].update(masks=gt, ignore_masks=gt)
    metric = _metric()
    metric.process(None, [perfect])
    scores = metric.compute_metrics(metric.results)
    assert scores['mIoU'] == pytest.approx(100)
    assert scores['mean_instance_IoU'] == pytest.approx(100)
    assert scores['mask_AP50'] == pytest.approx(100)
    assert scores['ignored'] == 0
    # filled boxes are worse than the exact masks
    assert scores['box_mIoU'] < 95
    assert scores['box_mean_instance_IoU'] < 95
    assert scores['box_mask_AP'] < scores['mask_AP']


def test_metric_after_the_writer(tmp_path, image_file):
    writer, metric = _mask_writer(tmp_path), _metric()
    sample = _sample(image_file)
    writer.process(None, [sample])
    metric.process(None, [sample])
    scores = metric.compute_metrics(metric.results)
    assert 70 < scores['mean_instance_IoU'] <= 100
    assert scores['mIoU'] > scores['box_mIoU']


def test_metric_errors(tmp_path, image_file):
    with pytest.raises(KeyError, match='pseudo_mask_cfg'):
        _metric().process(None, [_sample(image_file, pseudo=False)])
    sample = _sample(image_file)
    small = torch.zeros(2, HEIGHT // 2, WIDTH // 2, dtype=torch.bool)
    sample['pred_instances'].update(masks=small, ignore_masks=small)
    with pytest.raises(ValueError, match='original frame'):
        _metric().process(None, [sample])


BBAM_CONFIG = """
_base_ = ['{repo}/configs/bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py']
classes = ('train', 'boat', 'aeroplane')
model = dict(
    num_proposals=100, num_iters=1,
    detector=dict(roi_head=dict(bbox_head=dict(num_classes=3))))
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{data}/', metainfo=dict(classes=classes),
                 ann_file='annotations/instances_val.json'))
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir='{out}/maps'),
    dict(type='mmwsss.BBAMPseudoMaskWriter', output_dir='{out}/masks',
         fg_ann_file='{out}/fg.json', ignore_ann_file='{out}/ignore.json',
         semantic_dir='{out}/semantic'),
    dict(type='mmwsss.BoxPseudoMaskMetric'),
]
"""


def _detector_checkpoint(repo: str, path: str) -> None:
    cfg = Config.fromfile(
        osp.join(repo, 'configs', 'bbam',
                 'faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py'))
    cfg.model.roi_head.bbox_head.num_classes = 3
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    torch.save(dict(state_dict=detector.state_dict()), path)


def _last_metrics(work_dir: str) -> dict:
    # The float metrics of the latest run: <work_dir>/<stamp>/<stamp>.json.
    stamp = sorted(
        d for d in os.listdir(work_dir)
        if osp.isdir(osp.join(work_dir, d)))[-1]
    with open(osp.join(work_dir, stamp, stamp + '.json')) as f:
        return json.loads(f.readlines()[-1])


def _manifest(folder: str) -> dict:
    with open(osp.join(folder, 'manifest.json')) as f:
        return json.load(f)


@pytest.mark.slow
def test_tools_test_distributed_scores_and_resumes(tmp_path, tiny_synthvoc,
                                                   repo_root):
    checkpoint = str(tmp_path / 'detector.pth')
    _detector_checkpoint(repo_root, checkpoint)
    out = str(tmp_path / 'bbam')
    config = tmp_path / 'bbam_config.py'
    config.write_text(
        BBAM_CONFIG.format(repo=repo_root, data=tiny_synthvoc, out=out))
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=repo_root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    command = [
        osp.join(repo_root, 'tools', 'test.py'),
        str(config), checkpoint, '--work-dir',
        str(tmp_path / 'work')
    ]
    # first run in two processes, the resumed run in one
    subprocess.run(
        [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
            '2', '--master_port', str(free_port())
        ] + command + ['--launcher', 'pytorch'],
        check=True,
        cwd=repo_root,
        env=env,
        capture_output=True)
    first = _last_metrics(str(tmp_path / 'work'))
    for name in ('maps', 'masks'):
        manifest = _manifest(osp.join(out, name))
        assert manifest['written_this_run'] == 4 and not manifest['failures']
    for key in ('mIoU', 'box_mIoU', 'mask_AP', 'box_mask_AP',
                'mean_instance_IoU'):
        assert 0 <= first[f'box_pseudo_mask/{key}'] <= 100
    with open(osp.join(out, 'fg.json')) as f:
        assert len(json.load(f)['images']) == 4
    assert len(os.listdir(osp.join(out, 'semantic'))) == 4

    # rerun: nothing is recomputed, the same scores come back
    subprocess.run(
        [sys.executable] + command,
        check=True,
        cwd=repo_root,
        env=env,
        capture_output=True)
    second = _last_metrics(str(tmp_path / 'work'))
    for name in ('maps', 'masks'):
        assert _manifest(osp.join(out, name))['skipped_existing'] == 4
    assert second['box_pseudo_mask/mIoU'] == pytest.approx(
        first['box_pseudo_mask/mIoU'])
