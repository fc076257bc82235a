# Copyright (c) mmwsss contributors. All rights reserved.
"""Draw MoANA Fig. 6-style panels: activation maps, boxes and attentions.

For each image, with a classifier whose neck is an attention neck (e.g.
``mmwsss.MoANA``), this writes to ``--out-dir`` (``<stem>`` = image name):

- ``<stem>_moana.png``: the model's activation map (CAM of the class) over the
  image, with the predicted box (green) and the GT box (red) if given;
- ``<stem>_cam.png``: the same for the CAM baseline, a separately trained
  model given by ``--cam-config``/``--cam-checkpoint`` as in the paper (fed
  the same input tensor); without it, the model's own head applied to the
  uncalibrated map X;
- ``<stem>_E_zh.png``, ``<stem>_E_zw.png``, ``<stem>_M.png``: the expanded
  height / width attentions and the full attention M;
- ``<stem>_X.png``, ``<stem>_X_hat.png``, ``<stem>_D.png``: the input map X,
  the calibrated map X_hat and D = X_hat - X;
- ``<stem>_boxes.png`` (with ``--gt-box``): predicted and GT boxes;
- ``<stem>_panel.png``: all of the above, titled, in rows of four.

The attention and feature maps are channel means, min-max normalised to
[0, 1] (MoANA Fig. 6) and enlarged to the image size without interpolation.
Activation maps are resized and min-max normalised as by the WSOL protocol
(``normalize_scoremap``); the box is the largest contour's at
``--cam-threshold``. Everything is drawn by the panel functions of
:mod:`mmwsss.visualization.drawing`, as :class:`mmwsss.WSSSVisualizer`
draws (heat maps, boxes, titled panels).

Example::

    python tools/analysis/visualize_attention.py \
        configs/moana/moana_r50-os8_1xb32-45e_cub-224.py moana.pth bird.jpg \
        --cam-config configs/moana/cam_r50-os8_1xb32-45e_cub-224.py \
        --cam-checkpoint cam.pth --gt-box 60 27 385 331 --out-dir vis
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from PIL import Image

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.evaluation.functional import (box_iou_inclusive,
                                          boxes_from_scoremap,
                                          normalize_scoremap)
from mmwsss.registry import MODELS
from mmwsss.utils.config import type_name
from mmwsss.utils.launch import resolve_config_path
from mmwsss.utils.tensor import to_numpy
from mmwsss.visualization import (draw_boxes, draw_feature_map, draw_heatmap,
                                  grid)

PRED_COLOR = (0, 255, 0)
GT_COLOR = (255, 0, 0)
#: Panels per row of ``<stem>_panel.png``.
PANEL_COLUMNS = 4
#: Attention entries of ``forward_with_attention`` and their file names.
ATTENTION_NAMES = (('height', 'E_zh'), ('width', 'E_zw'), ('full', 'M'))


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Draw MoANA Fig. 6-style attention panels')
    parser.add_argument('config', help='config of the attention model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument(
        '--out-dir', default='work_dirs/attention_vis', help='output folder')
    parser.add_argument('--cam-config', help='config of the CAM baseline')
    parser.add_argument('--cam-checkpoint', help='its checkpoint')
    parser.add_argument(
        '--gt-box',
        nargs=4,
        type=float,
        action='append',
        metavar=('X0', 'Y0', 'X1', 'Y1'),
        help='GT box in original-image pixels; give it once per image, in '
        'the order of the images')
    parser.add_argument(
        '--label',
        type=int,
        help='class whose maps are drawn (default: each model\'s top-1)')
    parser.add_argument(
        '--cam-threshold',
        type=float,
        default=0.2,
        help='threshold of the box, a fraction of the map maximum (default '
        '0.2: 20%% of the maximum, as the CAM paper)')
    parser.add_argument(
        '--size',
        nargs=2,
        type=int,
        metavar=('H', 'W'),
        help='network input size (default: the WSOLResize size of the '
        'config\'s test pipeline, else the image size)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config (both configs)')
    args = parser.parse_args()
    if (args.cam_config is None) != (args.cam_checkpoint is None):
        parser.error('--cam-config and --cam-checkpoint go together')
    if args.gt_box and len(args.gt_box) != len(args.images):
        parser.error(f'{len(args.gt_box)} --gt-box for {len(args.images)} '
                     'images: give one per image or none')
    if not 0 <= args.cam_threshold < 1:
        parser.error('--cam-threshold must be in [0, 1)')
    return args


def load_model(config: str, checkpoint: str, cfg_options: Optional[dict],
               device: str) -> Tuple[torch.nn.Module, Config]:
    """Build a model from its config and load a checkpoint.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file (a state dict under
            ``'state_dict'`` or a bare state dict).
        cfg_options (dict, optional): Overrides of the config.
        device (str): Device of the model.

    Returns:
        tuple[nn.Module, Config]: The model in eval mode and its config.
    """
    cfg = Config.fromfile(resolve_config_path(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    # The checkpoint overwrites every weight: skip pretrained downloads.
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval(), cfg


def input_size(cfg: Config) -> Optional[Tuple[int, int]]:
    """The ``WSOLResize`` size of the config's test pipeline, if any."""
    pipeline = cfg.get('test_dataloader', {}).get('dataset',
                                                  {}).get('pipeline', [])
    for step in pipeline:
        if type_name(step) == 'WSOLResize':
            return tuple(step.get('size', (224, 224)))
    return None


def prepare(model: torch.nn.Module, image_path: str,
            size: Optional[Sequence[int]]) -> torch.Tensor:
    """Load, resize and normalise one image as the WSOL test pipelines.

    Args:
        model (nn.Module): The model (its data preprocessor normalises).
        image_path (str): Image file.
        size (Sequence[int], optional): Input (h, w); None keeps the size.

    Returns:
        Tensor: The (1, 3, h, w) input batch.
    """
    steps = [dict(type='mmwsss.LoadImageRGB')]
    if size is not None:
        steps.append(dict(type='mmwsss.WSOLResize', size=tuple(size)))
    steps.append(dict(type='mmwsss.PackCAMInputs'))
    data = Compose(steps)(dict(img_path=image_path))
    return model.data_preprocessor(pseudo_collate([data]), False)['inputs']


def unit_range(array: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1]; a constant map becomes zeros."""
    array = array.astype(np.float64)
    span = array.max() - array.min()
    if span == 0:
        return np.zeros_like(array)
    return (array - array.min()) / span


def channel_mean(tensor: torch.Tensor, shape: Sequence[int]) -> np.ndarray:
    """Channel mean of a (1, C, h|1, w|1) tensor broadcast to (h, w)."""
    mean = tensor[0].float().mean(dim=0).expand(*shape)
    return to_numpy(mean)


@torch.no_grad()
def attention_maps(model: torch.nn.Module, inputs: torch.Tensor,
                   label: Optional[int]) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Run the attention model and collect its maps.

    Args:
        model (nn.Module): A classifier with an attention neck.
        inputs (Tensor): (1, 3, h, w) input.
        label (int, optional): Class of the activation maps; None: top-1.

    Returns:
        tuple[dict, dict[str, np.ndarray]]: The raw activation maps of the
        model (``'moana'``) and of its head on X (``'cam'``), each as
        ``dict(raw=(h, w) tensor, label=int)``; and the (h, w) feature
        maps E_zh, E_zw, M, X, X_hat and D in [0, 1].
    """
    neck = model.neck if model.with_neck else None
    if not hasattr(neck, 'forward_with_attention'):
        raise ValueError('the model needs an attention neck such as '
                         "mmwsss.MoANA (config: model.neck)")
    feats = model.backbone(inputs)
    x = feats[-1]
    x_hat, attentions = neck.forward_with_attention(x)
    shape = x.shape[-2:]
    maps = {
        name: unit_range(channel_mean(attentions[key], shape))
        for key, name in ATTENTION_NAMES if key in attentions
    }
    maps['X'] = unit_range(channel_mean(x, shape))
    maps['X_hat'] = unit_range(channel_mean(x_hat, shape))
    maps['D'] = unit_range(channel_mean(x_hat - x, shape))
    raws = {}
    for name, feat in (('moana', x_hat), ('cam', x)):
        raw = model.head.forward_cams((feat, ))[0]
        cls = int(raw.mean(dim=(1, 2)).argmax()) if label is None else label
        raws[name] = dict(raw=raw[cls].cpu(), label=cls)
    return raws, maps


@torch.no_grad()
def baseline_cam(model: torch.nn.Module, inputs: torch.Tensor,
                 label: Optional[int]) -> dict:
    """Raw activation map of a separately trained CAM baseline."""
    raw = model.raw_cams(inputs)[0]
    cls = int(raw.mean(dim=(1, 2)).argmax()) if label is None else label
    return dict(raw=raw[cls].cpu(), label=cls)


def with_boxes(image: np.ndarray,
               boxes: List[Tuple[Sequence[float], tuple]]) -> np.ndarray:
    """``(box, colour)`` pairs (inclusive xyxy pixels) drawn over an
    image, lines thick enough to see on large images."""
    width = max(1, round(max(image.shape[:2]) / 150))
    for box, colour in boxes:
        image = draw_boxes(image, np.asarray([box]), colour, width=width)
    return image


def localize(raw: torch.Tensor, image_hw: Tuple[int, int],
             threshold: float) -> Tuple[np.ndarray, np.ndarray]:
    """Score map at image size and the largest-contour box at a threshold."""
    scoremap = normalize_scoremap(raw, image_hw)
    boxes, _ = boxes_from_scoremap(scoremap, [threshold], multi_contour=False)
    return scoremap, boxes[0][0]


def visualize(image_path: str, image: np.ndarray, cams: Dict[str, dict],
              maps: Dict[str, np.ndarray], gt_box: Optional[Sequence[float]],
              threshold: float, out_dir: str) -> List[str]:
    """Write the PNG files of one image.

    Args:
        image_path (str): Image file (its stem names the outputs).
        image (np.ndarray): The original (H, W, 3) uint8 RGB image.
        cams (dict[str, dict]): ``'cam'`` and ``'moana'`` raw maps with
            their class (see :func:`attention_maps`) and a ``'title'``.
        maps (dict[str, np.ndarray]): Feature maps in [0, 1].
        gt_box (Sequence[float], optional): GT box in image pixels.
        threshold (float): Box threshold.
        out_dir (str): Output folder.

    Returns:
        list[str]: The written files.
    """
    stem = osp.splitext(osp.basename(image_path))[0]
    hw = image.shape[:2]
    written, panels = [], []

    def save(name: str, img: np.ndarray, title: str) -> None:
        path = osp.join(out_dir, f'{stem}_{name}.png')
        Image.fromarray(img).save(path)
        written.append(path)
        panels.append((title, img))

    predictions = []
    for name in ('cam', 'moana'):
        entry = cams[name]
        scoremap, box = localize(entry['raw'], hw, threshold)
        boxes = [(box, PRED_COLOR)]
        title = f'{entry["title"]} c{entry["label"]}'
        if gt_box is not None:
            boxes.append((gt_box, GT_COLOR))
            iou = box_iou_inclusive(box[None], np.asarray([gt_box]))[0, 0]
            title += f' IoU {iou:.2f}'
        predictions.append((entry['title'], box))
        save(name, with_boxes(draw_heatmap(image, scoremap), boxes), title)
    titles = dict(E_zh='E(z_h)', E_zw='E(z_w)', M='M', X='X', X_hat='X_hat',
                  D='X_hat - X')
    for name, title in titles.items():
        if name in maps:
            save(name, draw_feature_map(maps[name], hw), title)
    if gt_box is not None:
        boxes = [(box, PRED_COLOR) for _, box in predictions[1:]]
        save('boxes', with_boxes(image, boxes + [(gt_box, GT_COLOR)]),
             'pred (green), GT (red)')

    path = osp.join(out_dir, f'{stem}_panel.png')
    Image.fromarray(grid(panels, PANEL_COLUMNS)).save(path)
    written.append(path)
    return written


def main() -> None:
    """Draw the panels of every image."""
    args = parse_args()
    model, cfg = load_model(args.config, args.checkpoint, args.cfg_options,
                            args.device)
    baseline = None
    if args.cam_config:
        baseline, _ = load_model(args.cam_config, args.cam_checkpoint,
                                 args.cfg_options, args.device)
    size = args.size or input_size(cfg)
    os.makedirs(args.out_dir, exist_ok=True)
    gt_boxes = args.gt_box or [None] * len(args.images)
    for image_path, gt_box in zip(args.images, gt_boxes):
        inputs = prepare(model, image_path, size).to(args.device)
        cams, maps = attention_maps(model, inputs, args.label)
        cams['moana']['title'] = 'MoANA'
        if baseline is None:
            cams['cam']['title'] = 'CAM of X (same head)'
        else:
            cams['cam'] = baseline_cam(baseline, inputs, args.label)
            cams['cam']['title'] = 'CAM'
        with Image.open(image_path) as img:
            image = np.asarray(img.convert('RGB'))
        files = visualize(image_path, image, cams, maps, gt_box,
                          args.cam_threshold, args.out_dir)
        print(f'{image_path}: ' + ', '.join(osp.basename(f) for f in files))


if __name__ == '__main__':
    main()
