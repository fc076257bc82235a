# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC: a procedural benchmark that models weak-supervision difficulties.

Every foreground class has a small class-specific *emblem* (colour, shape and
pattern) on a *body* whose texture and silhouette come from pools shared by all
classes, and a preferred *habitat* background. A classifier trained on image
labels therefore fires on emblems (CAM seeds under-cover objects) and leaks
into habitats. The generator writes the PASCAL VOC layout, a COCO instances
json per split, out-of-distribution habitat images and a CUB-style WSOL set.
See ``docs/synthetic_benchmark.md``.

Its code needs only numpy, scipy, Pillow, pycocotools and
:mod:`mmwsss.fileio` (the label PNG format and palette).
"""
import json
import os
import os.path as osp
import time

import numpy as np

from .design import (_WSOL_FIRST_CODE, SYNTHVOC_DEFAULT_CLASSES,
                     SYNTHVOC_DEFAULT_HABITATS, _class_designs, _habitat_name,
                     _wsol_class_names, synthvoc_classes, synthvoc_palette,
                     voc_palette)
from .knobs import (GENERATOR_VERSION, SYNTHVOC_DEFAULT_KNOBS,
                    SYNTHVOC_KNOB_HELP, SYNTHVOC_MAX_CLASSES,
                    SYNTHVOC_MAX_WSOL_CLASSES, _check_float, _check_int,
                    _resolve_knobs)
from .writers import (_prepare_out_dir, _write_lines, _write_ood,
                      _write_voc_split, _write_wsol)

__all__ = [
    'GENERATOR_VERSION', 'SYNTHVOC_DEFAULT_CLASSES',
    'SYNTHVOC_DEFAULT_HABITATS', 'SYNTHVOC_MAX_CLASSES',
    'SYNTHVOC_MAX_WSOL_CLASSES', 'SYNTHVOC_DEFAULT_KNOBS',
    'SYNTHVOC_KNOB_HELP', 'voc_palette', 'synthvoc_classes',
    'synthvoc_palette', 'generate_synthetic_voc'
]


def generate_synthetic_voc(out_dir: str,
                           seed: int = 0,
                           overwrite: bool = False,
                           saliency: bool = False,
                           saliency_blur: float = 0.0,
                           saliency_noise: float = 0.0,
                           **knobs) -> dict:
    """Generate the SynthVOC benchmark into ``out_dir``.

    Writes the PASCAL VOC layout (``JPEGImages``, palette
    ``SegmentationClass``/``SegmentationObject``, ``Annotations`` XML,
    ``ImageSets``), per-object emblem maps (``SegmentationEmblem``), COCO
    instances jsons with RLE masks
    (``annotations/instances_{train,val}.json``),
    habitat-only images (``OoD/`` and ``ood_list.txt``), a CUB-200-2011 style
    WSOL set with masks (``wsol/``) and ``meta.json``. With ``saliency``, also
    a grey saliency PNG per train/val image (``Saliency/``, 255 on the union
    of its objects, optionally blurred and noisy; see
    :mod:`mmwsss.fileio.saliency`) and a ``saliency`` entry in ``meta.json``;
    without it, the output is that of earlier versions, byte for byte.

    Output bytes depend only on the arguments. Each image is drawn from a
    random generator seeded with ``(seed, split, index)``, so changing the
    size of one split leaves the images of the other splits unchanged. Class
    designs (emblems, habitats, preferred textures) do not depend on the seed.

    Args:
        out_dir (str): Output folder. It must be empty or absent unless
            ``overwrite`` is set.
        seed (int): Non-negative random seed. Defaults to 0.
        overwrite (bool): Replace the SynthVOC content of an existing folder
            (one holding a ``meta.json``). Defaults to False.
        saliency (bool): Also write saliency maps. Their noise has its own
            random stream, so the other outputs do not change. Defaults to
            False.
        saliency_blur (float): Gaussian blur sigma of the saliency maps, px,
            0..10. Defaults to 0.
        saliency_noise (float): Std of the additive Gaussian noise of the
            saliency maps on the 0..255 scale, 0..255. Defaults to 0.
        **knobs: Generator knobs; see ``SYNTHVOC_DEFAULT_KNOBS`` for names and
            defaults and ``SYNTHVOC_KNOB_HELP`` for their meaning.

    Returns:
        dict: Summary with ``out_dir``, ``seed``, ``generator_version``,
        ``splits``, ``num_objects``, ``num_ood``, ``wsol_images``,
        ``emblem_fraction`` (min/mean/max over all objects),
        ``habitat_cooccurrence``, ``multi_class_fraction``,
        ``repeated_class_fraction`` and ``seconds``.

    Raises:
        TypeError: For an unknown knob name.
        ValueError: For a knob or seed out of range.
        FileExistsError: When ``out_dir`` is not empty and ``overwrite`` is
            not set, or holds something other than a SynthVOC output.
        RuntimeError: When an emblem cannot fit any drawn object (knobs that
            combine tiny objects, large emblems and a wide void band).
    """
    start = time.perf_counter()
    _check_int('seed', seed, 0, 2**63 - 1)
    seed = int(seed)
    cfg = _resolve_knobs(knobs)
    saliency_cfg = None
    if saliency:
        _check_float('saliency_blur', saliency_blur, 0.0, 10.0)
        _check_float('saliency_noise', saliency_noise, 0.0, 255.0)
        saliency_cfg = dict(
            blur=float(saliency_blur), noise=float(saliency_noise))
    elif saliency_blur or saliency_noise:
        raise ValueError('saliency_blur and saliency_noise need saliency=True')
    _prepare_out_dir(out_dir, overwrite)

    classes, habitats = synthvoc_classes(cfg['num_classes'])
    designs = _class_designs(classes)
    wsol_names = _wsol_class_names(cfg['wsol_num_classes'])
    wsol_designs = _class_designs(wsol_names, _WSOL_FIRST_CODE)
    wsol_habitats = [_habitat_name(h) for h in range(len(wsol_names))]

    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationObject',
                'SegmentationEmblem', 'Annotations', 'ImageSets/Segmentation',
                'ImageSets/Main', 'annotations', 'OoD') + (
                    ('Saliency', ) if saliency else ()):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)

    stats = dict(fractions=[], habitat=0, multi=0, repeated=0, images=0)
    num_objects, trainval = {}, []
    for split in ('train', 'val'):
        num_objects[split], ids = _write_voc_split(out_dir, split, seed, cfg,
                                                   designs, classes, stats,
                                                   saliency_cfg)
        trainval += ids
    for sub in ('Segmentation', 'Main'):
        _write_lines(
            osp.join(out_dir, 'ImageSets', sub, 'trainval.txt'), trainval)

    _write_ood(out_dir, seed, cfg, designs)

    wsol_meta = _write_wsol(
        osp.join(out_dir, 'wsol'), seed, cfg, wsol_designs, wsol_names)
    wsol_meta['habitats'] = wsol_habitats
    wsol_meta['class_designs'] = [
        d.to_meta(wsol_habitats) for d in wsol_designs
    ]

    meta = dict(
        generator_version=GENERATOR_VERSION,
        seed=seed,
        knobs={k: list(v) if isinstance(v, tuple) else v
               for k, v in cfg.items()},
        classes=classes,
        habitats=habitats,
        palette=synthvoc_palette(cfg['num_classes']),
        class_designs=[d.to_meta(habitats) for d in designs],
        splits=dict(train=cfg['num_train'], val=cfg['num_val']),
        num_ood=cfg['num_ood'],
        wsol=wsol_meta)
    if saliency_cfg is not None:
        meta['saliency'] = saliency_cfg
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, sort_keys=True, indent=2)
        f.write('\n')

    fractions = np.asarray(stats['fractions'] or [0.0])
    images = max(stats['images'], 1)
    return dict(
        out_dir=out_dir,
        seed=seed,
        generator_version=GENERATOR_VERSION,
        splits=dict(train=cfg['num_train'], val=cfg['num_val']),
        num_objects=num_objects,
        num_ood=cfg['num_ood'],
        wsol_images=wsol_meta['num_images'],
        emblem_fraction=dict(
            min=round(float(fractions.min()), 4),
            mean=round(float(fractions.mean()), 4),
            max=round(float(fractions.max()), 4)),
        habitat_cooccurrence=round(stats['habitat'] / images, 4),
        multi_class_fraction=round(stats['multi'] / images, 4),
        repeated_class_fraction=round(stats['repeated'] / images, 4),
        seconds=round(time.perf_counter() - start, 2))
