# Copyright (c) mmwsss contributors. All rights reserved.
"""Images with their IR labels, to train IRNet."""
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset

from mmwsss.fileio import sample_file
from mmwsss.registry import DATASETS
from .voc_wsss import VOCWSSSDataset, meta_json_metainfo, read_split_ids


@DATASETS.register_module()
class IRLabelDataset(BaseDataset):
    """The images of a VOC-layout split with their IR labels.

    Each item holds ``img_id``, ``img_path`` and, as ``seg_map_path``, the
    IR label PNG ``<ir_label_dir>/<id>.png`` written by
    :class:`mmwsss.IRLabelWriter` (load it with :class:`mmwsss.LoadLabelMap`).
    Unlike the other paths, ``ir_label_dir`` is not joined to ``data_root``
    (IR labels live in a work directory); a relative path is relative to the
    current directory. Every IR label must exist: the dataset refuses to
    start otherwise and names the first missing files. Class names and
    palette are VOC's, or those of ``<data_root>/meta.json`` (SynthVOC).

    Args:
        data_root (str): The VOC2012 (or SynthVOC) folder.
        ann_file (str): Split list relative to ``data_root``, one image id
            per line (e.g. ``ImageSets/Segmentation/train_aug.txt``).
        ir_label_dir (str): Folder of the IR label PNGs.
        data_prefix (dict): ``img_path`` folder relative to ``data_root``.
            Defaults to ``dict(img_path='JPEGImages')``.
        img_suffix (str): Defaults to ``'.jpg'``.
        metainfo (dict, optional): Defaults to the classes of
            :class:`VOCWSSSDataset` or of ``meta.json``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = VOCWSSSDataset.METAINFO

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 ir_label_dir: str,
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.jpg',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.ir_label_dir = ir_label_dir
        self.img_suffix = img_suffix
        if metainfo is None:
            metainfo = meta_json_metainfo(data_root)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix or dict(img_path='JPEGImages'),
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split list; check that every IR label exists."""
        ids = read_split_ids(self.ann_file)
        data_list = [
            dict(
                img_id=img_id,
                img_path=osp.join(self.data_prefix['img_path'],
                                  img_id + self.img_suffix),
                seg_map_path=sample_file(self.ir_label_dir,
                                         dict(img_id=img_id), '.png'))
            for img_id in ids
        ]
        missing = [
            info['seg_map_path'] for info in data_list
            if not osp.isfile(info['seg_map_path'])
        ]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} IR labels are missing '
                f'in {self.ir_label_dir}, e.g. {missing[:3]}. Write them '
                'first (tools/test.py with configs/irn/ir-label_*.py).')
        return data_list
