# Copyright (c) mmwsss contributors. All rights reserved.
"""Draw a grid of SynthVOC samples: image, boxes, class mask and emblems.

Example:
    python tools/analysis/draw_synthvoc_samples.py \
        --out docs/images/synthvoc_samples.png
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.synthvoc import generate_synthetic_voc  # noqa: E402

CELL = 128
PAD = 4


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--root',
        help='an existing SynthVOC folder; a small one is generated '
        'into a temporary folder when omitted')
    parser.add_argument('--seed', type=int, default=0, help='generator seed')
    parser.add_argument(
        '--num', type=int, default=6, help='number of train images to draw')
    parser.add_argument(
        '--out',
        default='docs/images/synthvoc_samples.png',
        help='output PNG path')
    return parser.parse_args()


def _fit(img: Image.Image) -> Image.Image:
    """Scale an image to fit a CELL x CELL tile, nearest neighbour."""
    scale = CELL / max(img.size)
    size = (round(img.width * scale), round(img.height * scale))
    tile = Image.new('RGB', (CELL, CELL), (255, 255, 255))
    tile.paste(img.convert('RGB').resize(size, Image.NEAREST), (0, 0))
    return tile


def draw_row(root: str, image_id: str) -> Image.Image:
    """Draw one sample as four tiles.

    Args:
        root (str): SynthVOC folder.
        image_id (str): Image id.

    Returns:
        Image.Image: Image, image with boxes and names, class mask (VOC
        palette, void in cream) and emblem map.
    """
    image = Image.open(osp.join(root, 'JPEGImages', f'{image_id}.jpg'))
    boxed = image.convert('RGB')
    draw = ImageDraw.Draw(boxed)
    tree = ET.parse(osp.join(root, 'Annotations', f'{image_id}.xml'))
    for obj in tree.findall('object'):
        box = [int(obj.find(f'bndbox/{k}').text) - 1
               for k in ('xmin', 'ymin', 'xmax', 'ymax')]
        draw.rectangle(box, outline=(255, 255, 0))
        draw.text((box[0] + 2, box[1] + 1), obj.find('name').text,
                  fill=(255, 255, 0))
    semantic = Image.open(osp.join(root, 'SegmentationClass',
                                   f'{image_id}.png'))
    emblem = np.asarray(
        Image.open(osp.join(root, 'SegmentationEmblem', f'{image_id}.png')))
    emblem_rgb = np.asarray(image.convert('RGB')) // 4
    emblem_rgb[emblem > 0] = np.asarray(image.convert('RGB'))[emblem > 0]
    tiles = [image, boxed, semantic, Image.fromarray(emblem_rgb)]
    row = Image.new('RGB', (4 * CELL + 3 * PAD, CELL), (255, 255, 255))
    for i, tile in enumerate(tiles):
        row.paste(_fit(tile), (i * (CELL + PAD), 0))
    return row


def main() -> None:
    """Generate (if needed) and draw the sample grid."""
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = osp.join(tmp, 'synthvoc')
            generate_synthetic_voc(
                root,
                seed=args.seed,
                num_train=args.num,
                num_val=0,
                num_ood=0,
                wsol_images_per_class=0)
        with open(osp.join(root, 'ImageSets', 'Segmentation',
                           'train.txt')) as f:
            ids = f.read().split()[:args.num]
        with open(osp.join(root, 'meta.json')) as f:
            classes = json.load(f)['classes']
        rows = [draw_row(root, image_id) for image_id in ids]
    header = 16
    grid = Image.new(
        'RGB', (rows[0].width, header + len(rows) * (CELL + PAD)),
        (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for i, title in enumerate(
        ('image', 'VOC boxes', 'SegmentationClass', 'emblems')):
        draw.text((i * (CELL + PAD) + 2, 2), title, fill=(0, 0, 0))
    for i, row in enumerate(rows):
        grid.paste(row, (0, header + i * (CELL + PAD)))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    grid.save(args.out, optimize=True)
    print(f'wrote {args.out} ({len(rows)} samples; classes: '
          f'{", ".join(classes)})')


if __name__ == '__main__':
    main()
