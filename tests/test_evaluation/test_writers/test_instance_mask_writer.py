# Copyright (c) mmwsss contributors. All rights reserved.
import contextlib
import io
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.datasets import CocoDataset
from mmengine.structures import InstanceData, PixelData
from mmpretrain.structures import DataSample
from PIL import Image
from pycocotools.coco import COCO

from mmwsss.datasets.synthetic import voc_palette
from mmwsss.evaluation import (InstancePseudoMaskMetric,
                               InstancePseudoMaskWriter)
from mmwsss.evaluation.functional.instance_masks import voc_instance_ap
from mmwsss.evaluation.metrics.instance_mask_metric import gt_instances
from mmwsss.fileio import encode_rle

CLASSES = ('cat', 'dog', 'boat')
HEIGHT, WIDTH = 24, 32


def _gt(seed):
    """Instance map (3 instances, a void band) and class map of an image."""
    inst = np.zeros((HEIGHT, WIDTH), np.uint8)
    inst[2:10, 2:12] = 1
    inst[12:22, 4:14] = 2
    inst[5:20, 18:30] = 3
    inst[5:20, 17] = 255
    inst = np.roll(inst, seed, axis=1)
    lut = np.array([0, 1, 1, 3] + [0] * 251 + [255], np.uint8)  # cat cat boat
    return inst, lut[inst]


def _sample(name, masks, labels, scores, class_map=None):
    sample = DataSample(
        metainfo=dict(
            img_id=name,
            img_path=f'data/JPEGImages/{name}.jpg',
            ori_shape=(HEIGHT, WIDTH)))
    sample.pred_instances = InstanceData(
        masks=torch.as_tensor(np.asarray(masks,
                                         bool)).reshape(-1, HEIGHT, WIDTH),
        labels=torch.as_tensor(labels, dtype=torch.int64),
        scores=torch.as_tensor(scores, dtype=torch.float32))
    if class_map is not None:
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(class_map)[None])
    return sample.to_dict()


def _save_png(path, label):
    img = Image.fromarray(label, 'P')
    img.putpalette(voc_palette(256).tobytes())
    img.save(path)


@pytest.fixture
def gt_dir(tmp_path):
    folder = tmp_path / 'SegmentationObject'
    folder.mkdir()
    for seed, name in enumerate(['a', 'b']):
        _save_png(folder / f'{name}.png', _gt(seed)[0])
    return folder


def _exact_samples():
    samples = []
    for seed, name in enumerate(['a', 'b']):
        inst, cls = _gt(seed)
        masks, labels = gt_instances(inst, cls)
        samples.append(
            _sample(name, masks, labels, [0.9, 0.8, 0.7][:len(labels)], cls))
    return samples


def test_gt_instances_from_voc_maps():
    inst, cls = _gt(0)
    masks, labels = gt_instances(inst, cls)
    assert masks.shape == (3, HEIGHT, WIDTH) and labels.tolist() == [0, 0, 2]
    assert not masks[:, :, 17].any()  # void is in no instance


def test_ap_is_100_for_the_ground_truth(gt_dir):
    metric = InstancePseudoMaskMetric(instance_dir=str(gt_dir))
    metric.dataset_meta = dict(classes=CLASSES)
    samples = _exact_samples()
    samples.append(_sample('no_gt', np.zeros((0, HEIGHT, WIDTH)), [], []))
    metric.process(None, samples)
    result = metric.compute_metrics(metric.results)
    assert result['voc_AP50'] == pytest.approx(100)
    assert result['mask_AP50'] == pytest.approx(100)
    assert result['mask_AP'] == pytest.approx(100)
    assert result['images'] == 2 and result['missing_gt'] == 1


def test_ap_drops_for_wrong_and_missing_masks(gt_dir):
    metric = InstancePseudoMaskMetric(instance_dir=str(gt_dir))
    metric.dataset_meta = dict(classes=CLASSES)
    samples = _exact_samples()
    # image b: the boat is missed and one cat is labelled dog
    pred = samples[1]['pred_instances']
    pred['masks'], pred['labels'] = pred['masks'][:2], torch.tensor([0, 1])
    pred['scores'] = pred['scores'][:2]
    metric.process(None, samples)
    result = metric.compute_metrics(metric.results)
    # cat: 3 of 4 found at precision 1 -> 75; boat: 1 of 2 -> 50
    assert result['voc_AP50'] == pytest.approx((75 + 50) / 2)
    assert 0 < result['mask_AP50'] < 100


def test_voc_ap_matches_hand_computation():
    square = np.zeros((10, 10), bool)
    square[:5, :5] = True
    other = np.zeros((10, 10), bool)
    other[5:, 5:] = True
    gt = [(encode_rle(square), 0), (encode_rle(other), 0)]
    dets = [(encode_rle(square), 0, 0.9), (encode_rle(square), 0, 0.8),
            (encode_rle(other), 0, 0.7), (encode_rle(other), 1, 0.6)]
    mean, aps = voc_instance_ap([dict(gt=gt, dets=dets)], 3)
    # class 0: TP, FP (duplicate), TP -> precision 1, 1/2, 2/3 at recall
    # 1/2, 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3; classes 1, 2 have no gt
    assert aps[0] == pytest.approx((0.5 + 1 / 3) * 100)
    assert np.isnan(aps[1:]).all() and mean == pytest.approx(aps[0])


def _writer(tmp_path, **kwargs):
    writer = InstancePseudoMaskWriter(
        output_dir=str(tmp_path / 'out'),
        ann_file=str(tmp_path / 'pseudo.json'),
        **kwargs)
    writer.dataset_meta = dict(classes=CLASSES)
    return writer


def _source_json(tmp_path):
    path = tmp_path / 'instances_train.json'
    path.write_text(
        json.dumps(
            dict(
                images=[
                    dict(id=7, file_name='b.jpg', height=HEIGHT, width=WIDTH),
                    dict(id=3, file_name='a.jpg', height=HEIGHT, width=WIDTH)
                ],
                annotations=[],
                categories=[
                    dict(id=10, name='boat'),
                    dict(id=20, name='cat'),
                    dict(id=30, name='dog')
                ])))
    return str(path)


def test_coco_json_reads_in_mmdet_and_pycocotools(tmp_path):
    writer = _writer(tmp_path, source_ann_file=_source_json(tmp_path))
    samples = _exact_samples()
    writer.process(None, samples)
    assert writer.compute_metrics(writer.results) == dict(
        written=2, skipped=0, failed=0, images=2, detections=6)
    content = json.load(open(tmp_path / 'pseudo.json'))
    assert [i['id'] for i in content['images']] == [3, 7]
    assert [a['category_id'] for a in content['annotations']
            ] == [20] * 2 + [10] + [20] * 2 + [10]
    assert [a['score'] for a in content['annotations']
            ][:3] == pytest.approx([0.9, 0.8, 0.7])

    dataset = CocoDataset(
        ann_file=str(tmp_path / 'pseudo.json'),
        metainfo=dict(classes=CLASSES),
        data_prefix=dict(img='data/JPEGImages'),
        test_mode=True,
        pipeline=[])
    assert len(dataset) == 2
    first = dataset[0]
    assert first['img_id'] == 3 and first['img_path'].endswith('a.jpg')
    assert [i['bbox_label'] for i in first['instances']] == [0, 0, 2]
    assert all(
        isinstance(i['mask']['counts'], str) for i in first['instances'])
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / 'pseudo.json'))
        results = coco.loadRes(content['annotations'])
    expected = samples[0]['pred_instances']['masks'].numpy()
    for k, ann in enumerate(coco.loadAnns(coco.getAnnIds(imgIds=[3]))):
        assert np.array_equal(coco.annToMask(ann), expected[k])
    assert len(results.getAnnIds()) == 6


def test_ids_without_source_json_and_empty_images(tmp_path):
    writer = _writer(tmp_path)
    empty = _sample('c', np.zeros((0, HEIGHT, WIDTH)), [], [])
    writer.process(None, [empty] + _exact_samples()[:1])
    writer.compute_metrics(writer.results)
    content = json.load(open(tmp_path / 'pseudo.json'))
    assert [(i['id'], i['file_name'])
            for i in content['images']] == [(1, 'a.jpg'), (2, 'c.jpg')]
    assert [c['id'] for c in content['categories']] == [1, 2, 3]
    restored = writer.load_output(DataSample(metainfo=dict(img_id='c')))
    assert restored.pred_instances.masks.shape == (0, HEIGHT, WIDTH)


def test_resume_skips_finished_items_and_reads_them_back(tmp_path):
    writer = _writer(tmp_path)
    samples = _exact_samples()
    writer.process(None, samples[:1])
    path = osp.join(tmp_path, 'out', 'a.instances.json')
    first = open(path, 'rb').read()
    resumed = _writer(tmp_path)
    assert resumed.has_output(dict(img_id='a'))
    assert not resumed.has_output(dict(img_id='b'))
    changed = _sample('a', np.ones((1, HEIGHT, WIDTH)), [1], [0.5])
    resumed.process(None, [changed, samples[1]])
    assert open(path, 'rb').read() == first
    assert resumed.compute_metrics(resumed.results)['written'] == 1
    manifest = json.load(open(tmp_path / 'out' / 'manifest.json'))
    assert manifest['skipped_existing'] == 1 and manifest['files_on_disk'] == 2
    restored = resumed.load_output(DataSample(metainfo=dict(img_id='a')))
    pred = samples[0]['pred_instances']
    assert torch.equal(restored.pred_instances.masks, pred['masks'])
    assert torch.equal(restored.pred_instances.labels, pred['labels'])
    assert torch.equal(restored.pred_instances.scores, pred['scores'])


def test_source_json_must_cover_images_and_classes(tmp_path):
    writer = _writer(tmp_path, source_ann_file=_source_json(tmp_path))
    writer.process(None, [_sample('zz', np.zeros((0, HEIGHT, WIDTH)), [], [])])
    with pytest.raises(KeyError, match='zz.jpg'):
        writer.compute_metrics(writer.results)
    writer = _writer(tmp_path, source_ann_file=_source_json(tmp_path))
    writer.dataset_meta = dict(classes=('cat', 'cow'))
    writer.process(None, _exact_samples()[:1])
    with pytest.raises(KeyError, match='cow'):
        writer.compute_metrics(writer.results)


def test_no_ground_truth_for_any_image_fails(tmp_path):
    # a wrong instance_dir: every image "missing", which is no evaluation
    metric = InstancePseudoMaskMetric(instance_dir=str(tmp_path / 'nowhere'))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process(None, _exact_samples())
    with pytest.raises(FileNotFoundError, match='none of the 2 images'):
        metric.compute_metrics(metric.results)
