# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC on-disk layouts.

The PASCAL VOC layout with its COCO instances jsons, the out-of-distribution
habitat images and the CUB-200-2011 style WSOL set.
"""
import json
import os
import os.path as osp
import shutil
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from scipy.ndimage import gaussian_filter

from mmwsss.fileio.label_map import write_label_map
from mmwsss.fileio.saliency import write_saliency_map
from .design import _ClassDesign
from .knobs import GENERATOR_VERSION
from .rendering import _finish, _habitat
from .scenes import _STREAMS, _image_size, _rng, _sample_scene

_JPEG_KWARGS = dict(quality=95, subsampling=0, optimize=False)


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    if not osp.isdir(out_dir) or not os.listdir(out_dir):
        os.makedirs(out_dir, exist_ok=True)
        return
    if not overwrite:
        raise FileExistsError(
            f'{out_dir} is not empty; pass overwrite=True (--overwrite) to '
            'replace a previous SynthVOC output')
    if not osp.isfile(osp.join(out_dir, 'meta.json')):
        raise FileExistsError(
            f'{out_dir} is not empty and holds no SynthVOC meta.json; '
            'refusing to overwrite it')
    for name in ('JPEGImages', 'SegmentationClass', 'SegmentationObject',
                 'SegmentationEmblem', 'Annotations', 'ImageSets',
                 'annotations', 'OoD', 'wsol', 'Saliency'):
        shutil.rmtree(osp.join(out_dir, name), ignore_errors=True)
    for name in ('meta.json', 'ood_list.txt'):
        if osp.isfile(osp.join(out_dir, name)):
            os.remove(osp.join(out_dir, name))


def _save_jpg(path: str, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, format='JPEG', **_JPEG_KWARGS)


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, 'w') as f:
        f.writelines(f'{line}\n' for line in lines)


def _bbox(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """0-based inclusive (xmin, ymin, xmax, ymax) of a non-empty mask."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])


def _voc_xml(image_id: str, height: int, width: int,
             objects: List[dict]) -> str:
    lines = [
        '<annotation>', '\t<folder>SynthVOC</folder>',
        f'\t<filename>{image_id}.jpg</filename>',
        '\t<source>', '\t\t<database>SynthVOC</database>', '\t</source>',
        '\t<size>', f'\t\t<width>{width}</width>',
        f'\t\t<height>{height}</height>', '\t\t<depth>3</depth>', '\t</size>',
        '\t<segmented>1</segmented>'
    ]
    for obj in objects:
        xmin, ymin, xmax, ymax = obj['bbox']
        lines += [
            '\t<object>', f'\t\t<name>{obj["name"]}</name>',
            '\t\t<pose>Unspecified</pose>',
            f'\t\t<truncated>{int(obj["truncated"])}</truncated>',
            f'\t\t<occluded>{int(obj["occluded"])}</occluded>',
            '\t\t<difficult>0</difficult>', '\t\t<bndbox>',
            f'\t\t\t<xmin>{xmin + 1}</xmin>', f'\t\t\t<ymin>{ymin + 1}</ymin>',
            f'\t\t\t<xmax>{xmax + 1}</xmax>', f'\t\t\t<ymax>{ymax + 1}</ymax>',
            '\t\t</bndbox>', '\t</object>'
        ]
    lines.append('</annotation>')
    return '\n'.join(lines) + '\n'


def _rle(mask: np.ndarray) -> Tuple[dict, float, List[float]]:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    area = float(mask_utils.area(rle))
    bbox = [float(x) for x in mask_utils.toBbox(rle)]
    rle['counts'] = rle['counts'].decode('ascii')
    return rle, area, bbox


def _void_band(instances: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` px inside an object outline (not the border).

    Args:
        instances (np.ndarray): ``(H, W)`` instance map, 0 = background.
        width (int): Band width in pixels.

    Returns:
        np.ndarray: Boolean ``(H, W)`` mask of the void band.
    """
    band = np.zeros(instances.shape, bool)
    current = instances.astype(np.int32)
    for _ in range(width):
        # Edge padding: the image border is not an outline.
        p = np.pad(current, 1, mode='edge')
        c = p[1:-1, 1:-1]
        edge = ((p[:-2, 1:-1] != c) | (p[2:, 1:-1] != c) |
                (p[1:-1, :-2] != c) | (p[1:-1, 2:] != c)) & (c > 0)
        band |= edge
        current = np.where(edge, -1, current)
    return band


def _saliency_map(objects: np.ndarray, rng: np.random.Generator,
                  blur: float, noise: float) -> np.ndarray:
    """A saliency map: the union of the objects, optionally degraded.

    Args:
        objects (np.ndarray): Boolean ``(H, W)`` union of the objects.
        rng (np.random.Generator): Draws the noise.
        blur (float): Gaussian blur sigma in pixels (0 = none).
        noise (float): Std of additive Gaussian noise on the 0..255 scale.

    Returns:
        np.ndarray: uint8 ``(H, W)`` saliency, 255 = salient.
    """
    saliency = objects.astype(np.float64) * 255.
    if blur > 0:
        saliency = gaussian_filter(saliency, blur)
    if noise > 0:
        saliency = saliency + rng.normal(0., noise, saliency.shape)
    return np.clip(np.round(saliency), 0, 255).astype(np.uint8)


def _write_voc_split(out_dir: str,
                     split: str,
                     seed: int,
                     cfg: dict,
                     designs: List[_ClassDesign],
                     classes: List[str],
                     stats: dict,
                     saliency: Optional[dict] = None) -> Tuple[int, List[str]]:
    """Generate one split; returns its number of objects and its ids.

    ``saliency`` (``blur``, ``noise``) also writes ``Saliency/<id>.png``.
    """
    ids, images, annotations = [], [], []
    for index in range(cfg[f'num_{split}']):
        image_id = f'sv_{split}_{index + 1:06d}'
        scene = _sample_scene(_rng(seed, split, index), designs, cfg)
        height, width = scene.image.shape[:2]
        instances = np.zeros((height, width), np.uint8)
        for j, obj in enumerate(scene.objects, start=1):
            instances[obj.visible] = j
        void = _void_band(instances, cfg['void_width'])
        semantic = np.zeros_like(instances)
        emblems = np.zeros_like(instances)
        xml_objects = []
        for j, obj in enumerate(scene.objects, start=1):
            semantic[obj.visible] = obj.label + 1
            emblems[obj.emblem_visible & ~void] = j
            rle, area, bbox = _rle(obj.visible)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index + 1,
                    category_id=obj.label + 1,
                    segmentation=rle,
                    area=area,
                    bbox=bbox,
                    iscrowd=0))
            xml_objects.append(
                dict(
                    name=classes[obj.label],
                    bbox=_bbox(obj.visible),
                    truncated=obj.truncated,
                    occluded=bool((obj.full & ~obj.visible).any())))
            stats['fractions'].append(obj.emblem_area / obj.area)
        instances[void] = 255
        semantic[void] = 255

        present = {obj.label for obj in scene.objects}
        stats['images'] += 1
        stats['habitat'] += scene.background in {
            designs[c].habitat
            for c in present
        }
        stats['multi'] += len(present) > 1
        stats['repeated'] += len(present) < len(scene.objects)

        _save_jpg(osp.join(out_dir, 'JPEGImages', f'{image_id}.jpg'),
                  scene.image)
        # A fresh output folder: written in place, not atomically.
        for sub, label in (('SegmentationClass', semantic),
                           ('SegmentationObject', instances),
                           ('SegmentationEmblem', emblems)):
            write_label_map(
                osp.join(out_dir, sub, f'{image_id}.png'), label,
                atomic=False)
        with open(osp.join(out_dir, 'Annotations', f'{image_id}.xml'),
                  'w') as f:
            f.write(_voc_xml(image_id, height, width, xml_objects))
        if saliency is not None:
            rng = _rng(seed, 'saliency', _STREAMS[split], index)
            write_saliency_map(
                osp.join(out_dir, 'Saliency', f'{image_id}.png'),
                _saliency_map(instances > 0, rng, **saliency),
                atomic=False)
        ids.append(image_id)
        images.append(
            dict(
                id=index + 1,
                file_name=f'{image_id}.jpg',
                height=height,
                width=width))
    for sub in ('Segmentation', 'Main'):
        _write_lines(osp.join(out_dir, 'ImageSets', sub, f'{split}.txt'), ids)
    coco = dict(
        info=dict(
            description=f'SynthVOC {split}', version=GENERATOR_VERSION),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[
            dict(id=k + 1, name=name) for k, name in enumerate(classes)
        ])
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump(coco, f)
    return len(annotations), ids


def _write_ood(out_dir: str, seed: int, cfg: dict,
               designs: List[_ClassDesign]) -> None:
    """Write the habitat-only (out-of-distribution) images and their list."""
    ood_lines = []
    for index in range(cfg['num_ood']):
        rng = _rng(seed, 'ood', index)
        height, width = _image_size(rng, cfg)
        habitat = designs[int(rng.integers(len(designs)))].habitat
        image = _finish(rng, _habitat(habitat, rng, height, width), cfg)
        rel = f'OoD/sv_ood_{index + 1:06d}.jpg'
        _save_jpg(osp.join(out_dir, rel), image)
        ood_lines.append(rel)
    _write_lines(osp.join(out_dir, 'ood_list.txt'), ood_lines)


def _write_wsol(root: str, seed: int, cfg: dict,
                designs: List[_ClassDesign], names: List[str]) -> dict:
    """Write the CUB-200-2011 style WSOL set; returns its meta entry."""
    per_class = cfg['wsol_images_per_class']
    num_train_per_class = int(round(cfg['wsol_train_fraction'] * per_class))
    images, labels, splits, boxes, folders = [], [], [], [], []
    image_id = 0
    for k, name in enumerate(names):
        folder = f'{k + 1:03d}.{name}'
        folders.append(f'{k + 1} {folder}')
        os.makedirs(osp.join(root, 'images', folder), exist_ok=True)
        os.makedirs(osp.join(root, 'masks', folder), exist_ok=True)
        for index in range(per_class):
            image_id += 1
            scene = _sample_scene(
                _rng(seed, 'wsol', k, index), designs, cfg, labels=[k])
            visible = scene.objects[0].visible
            stem = f'{folder}/{name}_{index + 1:04d}'
            _save_jpg(osp.join(root, 'images', f'{stem}.jpg'), scene.image)
            write_label_map(
                osp.join(root, 'masks', f'{stem}.png'),
                visible.astype(np.uint8) * 255,
                palette=False,
                atomic=False)
            xmin, ymin, xmax, ymax = _bbox(visible)
            images.append(f'{image_id} {stem}.jpg')
            labels.append(f'{image_id} {k + 1}')
            splits.append(f'{image_id} {int(index < num_train_per_class)}')
            boxes.append(f'{image_id} {xmin:.1f} {ymin:.1f} '
                         f'{xmax - xmin + 1:.1f} {ymax - ymin + 1:.1f}')
    _write_lines(osp.join(root, 'images.txt'), images)
    _write_lines(osp.join(root, 'image_class_labels.txt'), labels)
    _write_lines(osp.join(root, 'train_test_split.txt'), splits)
    _write_lines(osp.join(root, 'bounding_boxes.txt'), boxes)
    _write_lines(osp.join(root, 'classes.txt'), folders)
    return dict(
        num_classes=len(names),
        classes=list(names),
        images_per_class=per_class,
        num_images=image_id,
        num_train=num_train_per_class * len(names),
        num_test=(per_class - num_train_per_class) * len(names))
