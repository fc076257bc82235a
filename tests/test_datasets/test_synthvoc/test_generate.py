# Copyright (c) mmwsss contributors. All rights reserved.
import importlib.util
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmwsss.datasets import synthetic, synthvoc
from mmwsss.datasets.synthvoc import (SYNTHVOC_DEFAULT_CLASSES,
                                      SYNTHVOC_DEFAULT_KNOBS,
                                      generate_synthetic_voc, synthvoc_palette,
                                      voc_palette)

SMALL = dict(
    num_train=6,
    num_val=4,
    num_ood=3,
    num_classes=4,
    image_size=(64, 112),
    wsol_num_classes=3,
    wsol_images_per_class=3)


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def _read_lines(path):
    with open(path) as f:
        return f.read().split('\n')[:-1]


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthvoc') / 'small')
    summary = generate_synthetic_voc(root, seed=3, **SMALL)
    return root, summary


def test_deterministic_bytes(small, tmp_path):
    root, _ = small
    again = str(tmp_path / 'again')
    generate_synthetic_voc(again, seed=3, **SMALL)
    first, second = _files(root), _files(again)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing

    other = str(tmp_path / 'other_seed')
    generate_synthetic_voc(other, seed=4, **SMALL)
    image = 'JPEGImages/sv_train_000001.jpg'
    assert _files(other)[image] != first[image]


def test_splits_are_independent(small, tmp_path):
    root, _ = small
    grown = str(tmp_path / 'grown')
    generate_synthetic_voc(
        grown, seed=3, **dict(SMALL, num_train=8, num_ood=1))
    first, second = _files(root), _files(grown)
    val_ids = _read_lines(osp.join(root, 'ImageSets/Segmentation/val.txt'))
    for image_id in val_ids:
        for rel in (f'JPEGImages/{image_id}.jpg',
                    f'SegmentationObject/{image_id}.png',
                    f'Annotations/{image_id}.xml'):
            assert first[rel] == second[rel], rel
    assert first['OoD/sv_ood_000001.jpg'] == second['OoD/sv_ood_000001.jpg']
    for rel in first:
        if rel.startswith('wsol/'):
            assert first[rel] == second[rel], rel


def test_layout_and_meta(small):
    root, summary = small
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['seed'] == 3
    assert meta['classes'] == list(SYNTHVOC_DEFAULT_CLASSES[:4])
    assert len(meta['habitats']) == 4
    assert meta['palette'] == synthvoc_palette(4)
    assert meta['palette'][0] == [0, 0, 0]
    assert meta['palette'][1] == [128, 0, 0]
    assert set(meta['knobs']) == set(SYNTHVOC_DEFAULT_KNOBS)
    assert meta['knobs']['image_size'] == [64, 112]
    assert meta['splits'] == dict(train=6, val=4)
    assert meta['num_ood'] == 3
    assert meta['wsol']['num_images'] == 9

    train = _read_lines(osp.join(root, 'ImageSets/Segmentation/train.txt'))
    val = _read_lines(osp.join(root, 'ImageSets/Segmentation/val.txt'))
    assert len(train) == 6 and len(val) == 4
    assert not set(train) & set(val)
    assert _read_lines(osp.join(root, 'ImageSets/Main/train.txt')) == train
    assert _read_lines(osp.join(root, 'ImageSets/Main/val.txt')) == val
    for sub in ('Main', 'Segmentation'):
        assert _read_lines(osp.join(root, f'ImageSets/{sub}/trainval.txt')) \
            == train + val
    for image_id in train + val:
        for sub, ext in (('JPEGImages', 'jpg'), ('SegmentationClass', 'png'),
                         ('SegmentationObject', 'png'),
                         ('SegmentationEmblem', 'png'),
                         ('Annotations', 'xml')):
            assert osp.isfile(osp.join(root, sub, f'{image_id}.{ext}'))
        image = Image.open(osp.join(root, 'JPEGImages', f'{image_id}.jpg'))
        assert image.mode == 'RGB'
        assert 64 <= image.width <= 112 and 64 <= image.height <= 112

    ood = _read_lines(osp.join(root, 'ood_list.txt'))
    assert len(ood) == 3
    for rel in ood:
        assert rel.startswith('OoD/') and osp.isfile(osp.join(root, rel))
    assert summary['splits'] == dict(train=6, val=4)
    assert summary['num_ood'] == 3


def test_masks_xml_and_coco_agree(small):
    root, _ = small
    classes = list(SYNTHVOC_DEFAULT_CLASSES[:4])
    palette = voc_palette().reshape(-1).tolist()
    for split in ('train', 'val'):
        coco = COCO(osp.join(root, 'annotations', f'instances_{split}.json'))
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == classes
        ann_ids = [a['id'] for a in coco.dataset['annotations']]
        assert len(set(ann_ids)) == len(ann_ids) and min(ann_ids) >= 1
        ids = _read_lines(
            osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt'))
        by_file = {img['file_name']: img for img in coco.dataset['images']}
        assert sorted(by_file) == sorted(f'{i}.jpg' for i in ids)
        for image_id in ids:
            semantic_png = Image.open(
                osp.join(root, 'SegmentationClass', f'{image_id}.png'))
            instance_png = Image.open(
                osp.join(root, 'SegmentationObject', f'{image_id}.png'))
            assert semantic_png.mode == instance_png.mode == 'P'
            assert semantic_png.getpalette()[:len(palette)] == palette
            semantic = np.asarray(semantic_png)
            instances = np.asarray(instance_png)
            emblems = np.asarray(
                Image.open(
                    osp.join(root, 'SegmentationEmblem', f'{image_id}.png')))
            void = instances == 255
            assert np.array_equal(void, semantic == 255)
            assert void.any()

            img = by_file[f'{image_id}.jpg']
            assert (img['height'], img['width']) == instances.shape
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
            objects = ET.parse(
                osp.join(root, 'Annotations',
                         f'{image_id}.xml')).getroot().findall('object')
            assert len(anns) == len(objects) >= 1
            assert set(np.unique(instances)) - {0, 255} == set(
                range(1, len(anns) + 1))
            for i, (ann, obj) in enumerate(zip(anns, objects), start=1):
                inst = instances == i
                label = ann['category_id']
                assert obj.find('name').text == classes[label - 1]
                assert obj.find('difficult').text == '0'
                assert np.all(semantic[inst] == label)
                # COCO masks include the void band of their object.
                assert isinstance(ann['segmentation']['counts'], str)
                decoded = mask_utils.decode(ann['segmentation']).astype(bool)
                assert np.array_equal(decoded & ~void, inst)
                assert not (decoded & ~inst & ~void).any()
                assert isinstance(ann['area'], float)
                assert ann['area'] == decoded.sum()
                x, y, w, h = ann['bbox']
                box = [int(obj.find(f'bndbox/{k}').text)
                       for k in ('xmin', 'ymin', 'xmax', 'ymax')]
                assert box == [x + 1, y + 1, x + w, y + h]
                # Emblems sit inside their own object.
                assert np.all(instances[emblems == i] == i)
                assert (emblems == i).any()


def test_emblem_fraction(small, tmp_path):
    root, summary = small
    low, high = SYNTHVOC_DEFAULT_KNOBS['emblem_area']
    assert low <= summary['emblem_fraction']['min']
    assert summary['emblem_fraction']['max'] <= high

    out = str(tmp_path / 'big_emblems')
    knobs = dict(SMALL, emblem_area=(0.25, 0.3), num_val=0)
    summary = generate_synthetic_voc(out, seed=1, **knobs)
    assert 0.25 <= summary['emblem_fraction']['min']
    assert summary['emblem_fraction']['max'] <= 0.3
    # On untouched objects the files show the same fraction.
    coco = COCO(osp.join(out, 'annotations', 'instances_train.json'))
    checked = 0
    for img in coco.dataset['images']:
        stem = img['file_name'][:-4]
        emblems = np.asarray(
            Image.open(osp.join(out, 'SegmentationEmblem', f'{stem}.png')))
        objects = ET.parse(osp.join(out, 'Annotations',
                                    f'{stem}.xml')).getroot().findall('object')
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        for i, (ann, obj) in enumerate(zip(anns, objects), start=1):
            if obj.find('truncated').text == obj.find('occluded').text == '0':
                fraction = (emblems == i).sum() / ann['area']
                assert 0.25 <= fraction <= 0.3
                checked += 1
    assert checked > 0


def test_emblem_parts(tmp_path):
    """Each object carries 2-3 separate equal copies of its class emblem
    that together keep the drawn area fraction."""
    from scipy.ndimage import label as connected_components
    out = str(tmp_path / 'parts')
    knobs = dict(SMALL, num_train=10, num_val=0, emblem_parts=(2, 3))
    summary = generate_synthetic_voc(out, seed=2, **knobs)
    low, high = SYNTHVOC_DEFAULT_KNOBS['emblem_area']
    assert low <= summary['emblem_fraction']['min']
    assert summary['emblem_fraction']['max'] <= high
    with open(osp.join(out, 'meta.json')) as f:
        assert json.load(f)['knobs']['emblem_parts'] == [2, 3]
    counts = []
    for stem in _read_lines(osp.join(out, 'ImageSets', 'Main', 'train.txt')):
        emblems = np.asarray(
            Image.open(osp.join(out, 'SegmentationEmblem', f'{stem}.png')))
        objects = ET.parse(osp.join(out, 'Annotations',
                                    f'{stem}.xml')).getroot().findall('object')
        for i, obj in enumerate(objects, start=1):
            if obj.find('truncated').text == obj.find('occluded').text == '0':
                # A guard ring of body pixels separates the parts.
                _, num = connected_components(
                    emblems == i, structure=np.ones((3, 3)))
                counts.append(num)
    assert counts and set(counts) <= {2, 3}
    assert set(counts) == {2, 3}


def test_wsol_layout(small):
    root, _ = small
    wsol = osp.join(root, 'wsol')
    images = [line.split() for line in _read_lines(f'{wsol}/images.txt')]
    labels = dict(line.split()
                  for line in _read_lines(f'{wsol}/image_class_labels.txt'))
    splits = dict(line.split()
                  for line in _read_lines(f'{wsol}/train_test_split.txt'))
    boxes = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in _read_lines(f'{wsol}/bounding_boxes.txt')
    }
    classes = [line.split() for line in _read_lines(f'{wsol}/classes.txt')]
    assert [c[0] for c in classes] == ['1', '2', '3']
    assert classes[0][1].startswith('001.')
    assert len(images) == 9
    assert sorted(splits.values()) == ['0'] * 3 + ['1'] * 6
    for image_id, rel in images:
        folder = rel.split('/')[0]
        assert folder == classes[int(labels[image_id]) - 1][1]
        assert osp.isfile(osp.join(wsol, 'images', rel))
        mask = np.asarray(
            Image.open(osp.join(wsol, 'masks', rel[:-4] + '.png')))
        assert set(np.unique(mask)) == {0, 255}
        ys, xs = np.nonzero(mask)
        x, y, w, h = boxes[image_id]
        assert [x, y, w, h] == [
            xs.min(), ys.min(),
            xs.max() - xs.min() + 1,
            ys.max() - ys.min() + 1
        ]


def test_unknown_knob_and_existing_dir(small, tmp_path):
    with pytest.raises(TypeError, match='num_trains.*num_train'):
        generate_synthetic_voc(str(tmp_path / 'out'), num_trains=3)
    with pytest.raises(ValueError, match='seed'):
        generate_synthetic_voc(str(tmp_path / 'out'), seed=-1)
    root, _ = small
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_synthetic_voc(root, **SMALL)
    stranger = tmp_path / 'stranger'
    stranger.mkdir()
    (stranger / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='meta.json'):
        generate_synthetic_voc(str(stranger), overwrite=True, **SMALL)


def test_cli_overwrite(tmp_path, capsys):
    path = osp.join(
        osp.dirname(__file__), '..', '..', '..', 'tools',
        'dataset_converters', 'generate_synthetic_voc.py')
    spec = importlib.util.spec_from_file_location('generate_cli', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli')
    args = [
        out, '--seed', '2', '--num-train', '3', '--num-val', '2',
        '--num-ood', '1', '--image-size', '64', '80', '--wsol-num-classes',
        '1', '--wsol-images-per-class', '1'
    ]
    cli.main(args)
    summary = json.loads(capsys.readouterr().out)
    assert summary['splits'] == dict(train=3, val=2)
    (tmp_path / 'cli' / 'JPEGImages' / 'stale.jpg').write_bytes(b'')
    cli.main(args + ['--num-train', '2', '--overwrite'])
    assert sorted(os.listdir(osp.join(out, 'JPEGImages'))) == [
        'sv_train_000001.jpg', 'sv_train_000002.jpg', 'sv_val_000001.jpg',
        'sv_val_000002.jpg'
    ]
    with open(osp.join(out, 'meta.json')) as f:
        assert json.load(f)['knobs']['image_size'] == [64, 80]


def test_compat_module_reexports_the_package():
    names = {
        'GENERATOR_VERSION', 'SYNTHVOC_DEFAULT_CLASSES',
        'SYNTHVOC_DEFAULT_HABITATS', 'SYNTHVOC_MAX_CLASSES',
        'SYNTHVOC_MAX_WSOL_CLASSES', 'SYNTHVOC_DEFAULT_KNOBS',
        'SYNTHVOC_KNOB_HELP', 'voc_palette', 'synthvoc_classes',
        'synthvoc_palette', 'generate_synthetic_voc'
    }
    assert set(synthvoc.__all__) == set(synthetic.__all__) == names
    for name in names:
        assert getattr(synthetic, name) is getattr(synthvoc, name), name
