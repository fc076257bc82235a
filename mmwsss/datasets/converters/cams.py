# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM folders of the research codes to ours and back (see
:mod:`mmwsss.fileio.research_cams` for the formats)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmwsss.fileio import (read_cam_file, read_research_cams,
                           write_cam_file, write_research_cams)
from .common import ConversionOutputs
from .voc import track


def read_wsol_class_labels(metadata_dir: str) -> Dict[str, int]:
    """Image file name -> class of wsolevaluation's ``class_labels.txt``."""
    path = osp.join(metadata_dir, 'class_labels.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'Class labels not found: {path}')
    labels = {}
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            image_id, _, label = line.strip().partition(',')
            try:
                labels[osp.basename(image_id)] = int(label)
            except ValueError:
                raise ValueError(f'{path}:{line_no}: expected "image_id,'
                                 f'class", got {line.strip()!r}') from None
    return labels


def _same_cams(path: str, arrays: Dict[str, np.ndarray]) -> bool:
    try:
        existing = read_cam_file(path)
    except (ValueError, KeyError):
        return False
    return existing.keys() == arrays.keys() and all(
        np.array_equal(existing[k], arrays[k]) for k in arrays)


def import_cams(src: str,
                dst: str,
                fmt: str,
                trust_pickles: bool = False,
                metadata_dir: Optional[str] = None,
                overwrite: bool = False,
                progress: bool = True) -> Tuple[dict, List[str]]:
    """Convert every ``.npy`` CAM file of ``src`` into our CAM files in
    ``dst``.

    Files are named by image id as our stages expect (``<id>.npz``; for
    ``wsolevaluation`` the image file name without its extension). A file
    that cannot be converted is recorded and the others go on.

    Args:
        src (str): Folder of the research code's files.
        dst (str): Folder of our CAM files.
        fmt (str): See :data:`mmwsss.fileio.RESEARCH_CAM_FORMATS`.
        trust_pickles (bool): Read pickled dicts. Defaults to False.
        metadata_dir (str, optional): wsolevaluation metadata folder (with
            ``class_labels.txt``), for ``wsolevaluation``.
        overwrite (bool): Replace differing existing CAM files.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        tuple[dict, list[str]]: File counts and the failures (one message
        per file).
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'CAM folder not found: {src}')
    labels = None
    if fmt == 'wsolevaluation':
        if metadata_dir is None:
            raise ValueError('wsolevaluation maps need --metadata (the '
                             'folder with class_labels.txt)')
        labels = read_wsol_class_labels(metadata_dir)
    names = sorted(n for n in os.listdir(src) if n.endswith('.npy'))
    outputs = ConversionOutputs(overwrite)
    failures = []
    for name in track(names, progress):
        image_name = name[:-len('.npy')]
        stem = (
            osp.splitext(image_name)[0]
            if fmt == 'wsolevaluation' else image_name)
        try:
            arrays = read_research_cams(
                osp.join(src, name), fmt, trust_pickles,
                None if labels is None else labels.get(image_name))
            target = osp.join(dst, stem + '.npz')
            outcome = 'written'
            if osp.isfile(target):
                if _same_cams(target, arrays):
                    outputs.counts['unchanged'] += 1
                    continue
                if not overwrite:
                    outputs.conflicts.append(target)
                    continue
                outcome = 'replaced'
            write_cam_file(target, **arrays)
            outputs.counts[outcome] += 1
        except (ValueError, KeyError, OSError) as e:
            failures.append(str(e))
    outputs.check()
    return dict(files=len(names), **outputs.counts), failures


def export_cams(src: str,
                dst: str,
                fmt: str,
                image_suffix: str = '.jpg',
                progress: bool = True) -> Tuple[dict, List[str]]:
    """Write our CAM files of ``src`` in a research code's format.

    Args:
        src (str): Folder of our CAM files (with ``high_res`` maps).
        dst (str): Output folder.
        fmt (str): See :data:`mmwsss.fileio.RESEARCH_CAM_FORMATS`.
        image_suffix (str): Image file suffix, for ``wsolevaluation`` names
            (``<image file name>.npy``). Defaults to ``'.jpg'``.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        tuple[dict, list[str]]: ``files``/``written`` counts and the
        failures.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'CAM folder not found: {src}')
    names = sorted(n for n in os.listdir(src) if n.endswith('.npz'))
    failures, written = [], 0
    for name in track(names, progress):
        stem = name[:-len('.npz')]
        out_name = (
            stem + image_suffix if fmt == 'wsolevaluation' else stem) + '.npy'
        try:
            arrays = read_cam_file(
                osp.join(src, name), ('keys', 'strided', 'high_res'))
            write_research_cams(osp.join(dst, out_name), fmt, **arrays)
            written += 1
        except (ValueError, KeyError, OSError) as e:
            failures.append(str(e))
    return dict(files=len(names), written=written), failures
