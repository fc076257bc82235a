# Copyright (c) mmwsss contributors. All rights reserved.
"""The file stem of a sample: how every per-image file is named.

One rule for every reader and writer of per-image files: the stem is the
sample's ``img_id``, else its image file's stem, and it must stay inside the
folder it names a file of. A stem may hold sub-folders (``'a/img'``, as
CUB's ids do), but no absolute path, no ``..`` or ``.`` part and no empty
part: such names are refused (:class:`UnsafeNameError`) instead of being
rewritten, so that a reader and a writer can never disagree on a file.
Two samples of one job with the same stem would share their files; the
writers refuse that too (:func:`check_unique_names`).
"""
import os.path as osp
from typing import Any, Iterable, Optional, Tuple


class UnsafeNameError(ValueError):
    """A sample's name would address a file outside its folder."""


class NameCollisionError(ValueError):
    """Two samples of one job map to the same per-image file."""


def check_name(name: str, source: Optional[str] = None) -> str:
    """Refuse a file stem that would leave its folder.

    Args:
        name (str): The stem.
        source (str, optional): Where the name comes from (split list,
            dataset), for the message. Defaults to None.

    Returns:
        str: ``name``, unchanged.

    Raises:
        UnsafeNameError: If ``name`` is empty, absolute, or has an empty,
            ``.`` or ``..`` part, or a NUL character.
    """
    parts = name.replace('\\', '/').split('/')
    if (not name or osp.isabs(name) or '\0' in name
            or any(part in ('', '.', '..') for part in parts)):
        where = f' (from {source})' if source else ''
        raise UnsafeNameError(
            f'Unsafe image id {name!r}{where}: per-image files are named '
            'by the id inside their folder, so an id must be a relative '
            'path without "..", "." or empty parts.')
    return name


def sample_name(sample: Any) -> str:
    """File stem of a sample: its ``img_id``, else its image file's stem.

    Every per-image file (CAMs, IR labels, pseudo-masks, writer outputs) is
    ``<folder>/<sample_name><suffix>``, so the stages find each other's
    files.

    Args:
        sample (BaseDataElement | dict): A data sample, the dict the
            evaluator turns it into, or a pipeline's ``results``.

    Returns:
        str: The stem.

    Raises:
        UnsafeNameError: If the stem would leave its folder
            (:func:`check_name`).
    """
    img_id = sample.get('img_id')
    if img_id is not None:
        return check_name(str(img_id), 'img_id')
    return _path_stem(sample.get('img_path'))


def _path_stem(img_path: str) -> str:
    return check_name(
        osp.splitext(osp.basename(img_path))[0], f'img_path {img_path}')


def image_stem(sample: Any) -> str:
    """Stem of a sample's image file, else its :func:`sample_name`.

    Label maps that an mmseg dataset reads are keyed by the image file's
    stem, which differs from ``img_id`` in COCO-style datasets (integer
    ids, ``COCO_train2014_<12 digits>.jpg`` files).

    Args:
        sample (BaseDataElement | dict): A data sample or its dict.

    Returns:
        str: The stem.

    Raises:
        UnsafeNameError: If the stem would leave its folder.
    """
    img_path = sample.get('img_path')
    return _path_stem(img_path) if img_path else sample_name(sample)


def sample_file(folder: str, sample: Any, suffix: str) -> str:
    """Path of the per-image file of ``sample`` in ``folder``.

    Args:
        folder (str): The folder.
        sample (BaseDataElement | dict): See :func:`sample_name`.
        suffix (str): File suffix, e.g. ``'.npz'``.

    Returns:
        str: ``<folder>/<sample_name(sample)><suffix>``.
    """
    return osp.join(folder, sample_name(sample) + suffix)


class UniqueNames:
    """Refuses two different images with the same file stem.

    Args:
        source (str, optional): The dataset or folder, for the message.
            Defaults to None.
    """

    def __init__(self, source: Optional[str] = None):
        self.source = source
        self._images = {}

    def add(self, name: str, image: str) -> None:
        """Note that ``image`` is stored under ``name``.

        Args:
            name (str): The file stem.
            image (str): Whatever tells images apart (its path).

        Raises:
            NameCollisionError: If ``name`` belongs to another image.
        """
        other = self._images.setdefault(name, image)
        if other != image:
            where = f' of {self.source}' if self.source else ''
            raise NameCollisionError(
                f'Images {other} and {image}{where} both map to the file '
                f'stem {name!r}: their per-image files would overwrite each '
                'other. Give the samples distinct img_id values.')


def check_unique_names(items: Iterable[Tuple[str, str]],
                       source: Optional[str] = None) -> None:
    """Refuse two different images with the same file stem.

    Args:
        items (Iterable[tuple[str, str]]): ``(stem, image)`` pairs, the
            image being whatever tells images apart (its path).
        source (str, optional): The dataset, for the message. Defaults to
            None.

    Raises:
        NameCollisionError: If a stem belongs to two different images.
    """
    names = UniqueNames(source)
    for name, image in items:
        names.add(name, image)
