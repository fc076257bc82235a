# Copyright (c) mmwsss contributors. All rights reserved.
"""On-disk formats of mmwsss, each defined in one module.

- :mod:`.cam_file`: the CAM file (``.npz``) of an image;
- :mod:`.label_map`: label PNGs and the VOC palette;
- :mod:`.saliency`: saliency PNGs (0..255 per image);
- :mod:`.naming`: the file stem of a sample, shared by every per-image file;
- :mod:`.atomic`: atomic, deterministic writing and ``.npz`` archives;
- :mod:`.coco_records`: COCO json records of instance pseudo-masks;
- :mod:`.research_cams`: the CAM files of the research codes;
- :mod:`.jpeg_check`: damage in the structure of a JPEG file;
- :mod:`.mcg`: precomputed MCG mask proposals (``.mat``).

Only numpy, Pillow and pycocotools are needed, so the dataset generator can
use it (the MCG files need scipy, imported when one is read or written).
"""
from .atomic import (atomic_write, load_npz, looks_complete, process_umask,
                     save_npz)
from .cam_file import (CAM_ARRAYS, CAM_FIELDS, CAM_SUFFIX, cam_path,
                       load_cam_file, read_cam_file, read_finest_cams,
                       strided_map_size, write_cam_file)
from .coco_records import (coco_categories, coco_image_ids, coco_json,
                           decode_rle, encode_rle, image_record, load_record,
                           load_records, rle_area, rle_bbox, save_json)
from .jpeg_check import jpeg_damage
from .label_map import (encode_label_map, read_index_png, read_label_map,
                        voc_palette, write_label_map)
from .mcg import (MCG_SUFFIX, MCGProposals, mcg_path, rasterise_mcg_proposals,
                  read_mcg_proposals, write_mcg_proposals)
from .naming import (NameCollisionError, UniqueNames, UnsafeNameError,
                     check_name, check_unique_names, image_stem, sample_file,
                     sample_name)
from .research_cams import (RESEARCH_CAM_FORMATS, load_pickled_npy,
                            read_research_cams, write_research_cams)
from .saliency import (SALIENCY_SUFFIX, read_saliency_map, saliency_path,
                       write_saliency_map)

__all__ = [
    'atomic_write', 'load_npz', 'looks_complete', 'process_umask',
    'save_npz', 'NameCollisionError', 'UnsafeNameError', 'check_name',
    'check_unique_names', 'UniqueNames', 'CAM_ARRAYS', 'CAM_FIELDS',
    'CAM_SUFFIX', 'cam_path', 'load_cam_file', 'read_cam_file',
    'read_finest_cams', 'strided_map_size', 'write_cam_file',
    'encode_label_map', 'read_index_png', 'read_label_map', 'voc_palette',
    'write_label_map', 'sample_file', 'sample_name', 'image_stem', 'SALIENCY_SUFFIX', 'read_saliency_map',
    'saliency_path', 'write_saliency_map', 'coco_categories',
    'coco_image_ids', 'coco_json',
    'decode_rle', 'encode_rle', 'image_record', 'load_record', 'load_records',
    'rle_area', 'rle_bbox', 'save_json', 'RESEARCH_CAM_FORMATS',
    'load_pickled_npy', 'read_research_cams', 'write_research_cams',
    'jpeg_damage', 'MCG_SUFFIX', 'MCGProposals', 'mcg_path',
    'rasterise_mcg_proposals', 'read_mcg_proposals', 'write_mcg_proposals'
]
