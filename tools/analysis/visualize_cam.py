# Copyright (c) mmwsss contributors. All rights reserved.
"""Grad-CAM-family maps of any mmpretrain classifier over an image.

A working replacement for mmpretrain's ``tools/visualization/vis_cam.py``
with the current ``grad-cam`` package. Two modes:

- a model: ``IMG CONFIG CHECKPOINT`` builds the classifier of any mmpretrain
  (or mmwsss) config, runs ``--method`` at ``--target-layers`` for every
  ``--target-category`` (default: the top-1 prediction) and writes the
  overlays side by side to ``--save-path``. Token outputs of ViT-like
  backbones are reshaped to the patch grid of the input automatically
  (class/distillation tokens dropped, see
  :class:`mmwsss.models.gradcam.TokenGridReshape`);
  ``--vit-like`` insists on tokens. Maps are ``grad-cam``'s: per image
  min-max scaled to [0, 1] at the input size.
- a CAM file: ``IMG --cam-file ID.npz`` overlays the ``high_res`` maps
  (else ``strided``, resized) of an :class:`mmwsss.CAMWriter` file on its
  image, for the classes ``--target-category`` (default: all its keys).

The image is fed at its size (``--resize H W`` to change it) and
normalised by the model's data preprocessor, in the channel order the
preprocessor expects. Each map is drawn as the heat maps of
:class:`mmwsss.WSSSVisualizer` (:func:`mmwsss.visualization.draw_heatmap`:
jet colours over the image, normalised by the map's maximum), one titled
panel per class, side by side.

Examples::

    python tools/analysis/visualize_cam.py path/to/image.jpg \
        configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py \
        work_dirs/demo/cam_classifier/epoch_20.pth --method gradcam \
        --target-layers backbone.layer4 --target-category 3 \
        --save-path cam.png
    python tools/analysis/visualize_cam.py path/to/image.jpg \
        mmpretrain::vision_transformer/vit-base-p16_32xb128-mae_in1k.py \
        vit.pth --method gradcampp --target-layers 'backbone.layers[-1].ln1' \
        --vit-like --resize 224 224 --save-path vit.png
    python tools/analysis/visualize_cam.py data/synthvoc/JPEGImages/<id>.jpg \
        --cam-file work_dirs/gradcam_cam-r18w32-os16_synthvoc-112/cams/<id>.npz \
        --save-path cam.png
"""
import argparse
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from PIL import Image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.fileio import read_finest_cams
from mmwsss.models.gradcam import (GRADCAM_METHODS, build_gradcam,
                                   default_target_layer, release_gradcam)
from mmwsss.registry import MODELS
from mmwsss.utils.launch import resolve_config_path
from mmwsss.utils.tensor import to_numpy
from mmwsss.visualization import draw_heatmap, side_by_side


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments. Defaults to
            ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Visualise Grad-CAM-family maps or a CAM file')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', nargs='?', help='classifier config')
    parser.add_argument('checkpoint', nargs='?', help='its checkpoint')
    parser.add_argument(
        '--cam-file',
        help='an mmwsss CAM file (.npz) to draw instead of running a model')
    parser.add_argument(
        '--method',
        default='gradcam',
        type=str.lower,
        choices=sorted(GRADCAM_METHODS),
        help='CAM method (default: gradcam)')
    parser.add_argument(
        '--target-layers',
        nargs='+',
        help='module paths, e.g. backbone.layer4 or "backbone.layers[-1].'
        'ln1" (default: the last stage / last layer norm)')
    parser.add_argument(
        '--target-category',
        nargs='+',
        type=int,
        help='class indices (default: top-1 prediction; with --cam-file all '
        'classes in the file)')
    parser.add_argument(
        '--save-path', required=True, help='output image (e.g. out.png)')
    parser.add_argument(
        '--vit-like',
        action='store_true',
        help='require token outputs (B, L, C) at the target layers')
    parser.add_argument(
        '--num-extra-tokens',
        type=int,
        help='tokens before the patch tokens (default: the backbone\'s '
        'num_extra_tokens, else 0)')
    parser.add_argument(
        '--aug-smooth',
        action='store_true',
        help='grad-cam test-time augmentation (flip, x0.9/1/1.1)')
    parser.add_argument(
        '--eigen-smooth',
        action='store_true',
        help='first principal component of the weighted activations')
    parser.add_argument(
        '--resize', nargs=2, type=int, metavar=('H', 'W'),
        help='resize the image before the model')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    args = parser.parse_args(argv)
    if args.cam_file is None and (args.config is None
                                  or args.checkpoint is None):
        parser.error('give CONFIG and CHECKPOINT, or --cam-file')
    return args


def load_model(config: str, checkpoint: str, cfg_options: Optional[dict],
               device: str) -> torch.nn.Module:
    """Build a classifier from its config and load its checkpoint.

    Args:
        config (str): Config file (``mmpretrain::`` paths work).
        checkpoint (str): Checkpoint file.
        cfg_options (dict, optional): Overrides of the config.
        device (str): Device of the model.

    Returns:
        nn.Module: The model in eval mode.
    """
    cfg = Config.fromfile(resolve_config_path(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    # The checkpoint overwrites every weight: skip pretrained downloads.
    if 'backbone' in cfg.model:
        cfg.model.backbone.init_cfg = None
    if 'data_preprocessor' not in cfg.model and 'data_preprocessor' in cfg:
        cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def load_rgb(path: str, size: Optional[Sequence[int]] = None) -> np.ndarray:
    """An image as (H, W, 3) uint8 RGB, optionally resized to (h, w)."""
    image = Image.open(path).convert('RGB')
    if size is not None:
        image = image.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(image)


def model_inputs(model: torch.nn.Module, rgb: np.ndarray) -> torch.Tensor:
    """The normalised (1, 3, H, W) batch of an RGB image.

    mmpretrain pipelines load BGR and let the preprocessor convert
    (``to_rgb=True``); mmwsss pipelines load RGB (``to_rgb=False``).
    """
    preprocessor = model.data_preprocessor
    pixels = rgb[..., ::-1] if getattr(preprocessor, 'to_rgb', False) else rgb
    tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
    return preprocessor(dict(inputs=[tensor]), False)['inputs']


def model_cams(model: torch.nn.Module, inputs: torch.Tensor,
               args: argparse.Namespace) -> List[Tuple[int, np.ndarray]]:
    """``grad-cam`` maps (H, W) in [0, 1] of the requested categories."""
    with torch.no_grad():
        logits = model(inputs, mode='tensor')[0]
    categories = args.target_category or [int(logits.argmax())]
    for category in categories:
        if not 0 <= category < logits.numel():
            raise ValueError(f'Target category {category} is out of range: '
                             f'the model has {logits.numel()} classes')
    layers = args.target_layers or [default_target_layer(model)]
    cam = build_gradcam(model, args.method, layers, args.num_extra_tokens,
                        True if args.vit_like else None)
    try:
        maps = []
        for category in categories:
            grayscale = cam(
                inputs, [ClassifierOutputTarget(category)],
                aug_smooth=args.aug_smooth,
                eigen_smooth=args.eigen_smooth)[0]
            print(f'{args.method} at {", ".join(layers)}: class {category} '
                  f'(logit {float(logits[category]):.4f})')
            maps.append((category, grayscale))
    finally:
        release_gradcam(cam)
    return maps


def file_cams(cam_file: str, image_hw: Tuple[int, int],
              categories: Optional[Sequence[int]]
              ) -> List[Tuple[int, np.ndarray]]:
    """Maps (H, W) of a CAM file at the image size, per class."""
    keys, maps = read_finest_cams(cam_file)
    keys = [int(k) for k in keys]
    maps = torch.from_numpy(np.asarray(maps, np.float32))
    if tuple(maps.shape[1:]) != tuple(image_hw) and len(keys):
        maps = F.interpolate(
            maps[None], image_hw, mode='bilinear', align_corners=False)[0]
    categories = keys if categories is None else list(categories)
    missing = sorted(set(categories) - set(keys))
    if missing or not categories:
        raise ValueError(f'{cam_file} holds the classes {keys}; requested '
                         f'{categories}')
    return [(c, to_numpy(maps[keys.index(c)])) for c in categories]


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        if args.cam_file is not None:
            rgb = load_rgb(args.img, args.resize)
            cams = file_cams(args.cam_file, rgb.shape[:2],
                             args.target_category)
        else:
            model = load_model(args.config, args.checkpoint,
                               args.cfg_options, args.device)
            rgb = load_rgb(args.img, args.resize)
            inputs = model_inputs(model, rgb).to(args.device)
            cams = model_cams(model, inputs, args)
    except ValueError as err:
        sys.exit(f'visualize_cam.py: error: {err}')
    method = 'CAM file' if args.cam_file is not None else args.method
    row = side_by_side([(f'{method} class {category}', draw_heatmap(rgb, cam))
                        for category, cam in cams])
    Image.fromarray(row).save(args.save_path)
    print(f'classes {[c for c, _ in cams]} -> {args.save_path}')


if __name__ == '__main__':
    main()
