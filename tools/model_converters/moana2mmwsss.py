# Copyright (c) mmwsss contributors. All rights reserved.
"""Convert official MoANA weights (ku-milab/MoANA) to mmwsss key names.

Usage::

    python tools/model_converters/moana2mmwsss.py SRC DST \
        [--backbone-prefix backbone.] [--neck-prefix neck.] \
        [--head-prefix head.classifier.]

``SRC`` is a checkpoint of the official code: a state dict, or a dict holding
it under ``'state_dict'`` or ``'model'``. ``DST`` receives
``{'state_dict': converted}``, which ``mmengine.runner.load_checkpoint``
reads. See :func:`convert` for the key mapping; the defaults suit
``mmwsss.CAMClassifier`` with ``neck=dict(type='mmwsss.MoANA', ...)`` and
``mmwsss.CAMHead``.
"""
import argparse
import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict

import torch

# Official attribute -> mmwsss ``MoANA`` attribute.
MODULE_KEYS = {
    'conv_c': 'convs.channel',
    'conv_h': 'convs.height',
    'conv_w': 'convs.width',
    'bn1': 'norms.channel',
    'bn2': 'norms.height',
    'bn3': 'norms.width',
}
# The official WSOL network appends the module to layer4 after its three
# bottlenecks.
OFFICIAL_MODULE_PREFIX = 'layer4.3.'
# torchvision ResNet-50 names, which mmpretrain's ``ResNet`` shares
# (bottleneck ``conv1-3``/``bn1-3``, ``downsample.0/1``).
BACKBONE_KEY = re.compile(r'^(conv1|bn1|layer[1-4])\.')
# The WSOL network's 1x1-conv classifier and the plain CAM ResNet's ``fc``.
CLASSIFIER_KEY = re.compile(r'^(classifier|fc)\.(weight|bias)$')


def _module_key(key: str) -> str:
    """Rename one key of the official module's own state dict."""
    name, _, rest = key.partition('.')
    if name not in MODULE_KEYS:
        raise KeyError(f'unexpected key in the MoANA module: {key!r}')
    return f'{MODULE_KEYS[name]}.{rest}'


def convert(
        state_dict: Dict[str, torch.Tensor],
        backbone_prefix: str = 'backbone.',
        neck_prefix: str = 'neck.',
        head_prefix: str = 'head.classifier.'
) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an official MoANA state dict to mmwsss names.

    A leading ``module.`` (``DataParallel``) is removed first. Two layouts are
    recognised:

    - The module alone (keys ``conv_c.weight``, ``conv_h.weight``,
      ``conv_w.weight``, ``bn{1,2,3}.*``): the keys are renamed to those of
      :class:`mmwsss.models.moana.MoANA` (``convs.{channel,height,width}``,
      ``norms.{channel,height,width}``) without any prefix, ready for
      ``MoANA.load_state_dict``.
    - A whole network: torchvision-style ResNet-50 keys (``conv1``, ``bn1``,
      ``layer1``-``layer4``) get ``backbone_prefix`` (mmpretrain's ``ResNet``
      uses the same names); the module stored as ``layer4.3.*`` is renamed as
      above under ``neck_prefix``; the classifier ``classifier.*`` (a 1x1
      ``Conv2d``) or ``fc.*`` (a ``Linear``) goes to ``head_prefix`` with
      1x1-conv weights (num_classes, C, 1, 1), the layout of
      :class:`mmwsss.models.heads.CAMHead`; flatten them for a linear head.

    Args:
        state_dict (dict[str, Tensor]): Official state dict.
        backbone_prefix (str): Prefix of the backbone keys.
            Defaults to ``'backbone.'``.
        neck_prefix (str): Prefix of the MoANA keys in a whole network.
            Defaults to ``'neck.'``.
        head_prefix (str): Prefix of the classifier ``weight`` and ``bias``.
            Defaults to ``'head.classifier.'``.

    Returns:
        OrderedDict[str, Tensor]: The renamed state dict; its tensors share
        memory with the input.

    Raises:
        KeyError: On a key that belongs to neither layout, so that nothing is
            dropped silently.
    """
    state = OrderedDict(
        (key[len('module.'):] if key.startswith('module.') else key, value)
        for key, value in state_dict.items())
    # `bn1` is both the module's channel BN and the ResNet stem BN; a
    # top-level `conv_c` tells that the dict holds the module alone.
    if 'conv_c.weight' in state:
        return OrderedDict(
            (_module_key(key), value) for key, value in state.items())

    converted = OrderedDict()
    for key, value in state.items():
        if key.startswith(OFFICIAL_MODULE_PREFIX):
            new_key = neck_prefix + _module_key(
                key[len(OFFICIAL_MODULE_PREFIX):])
        elif BACKBONE_KEY.match(key):
            new_key = backbone_prefix + key
        elif CLASSIFIER_KEY.match(key):
            new_key = head_prefix + key.rpartition('.')[2]
            if value.dim() == 2:
                value = value[:, :, None, None]
        else:
            raise KeyError(f'unexpected key in the MoANA network: {key!r}')
        converted[new_key] = value
    return converted


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description='Convert official MoANA weights to mmwsss key names.')
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--backbone-prefix', default='backbone.')
    parser.add_argument('--neck-prefix', default='neck.')
    parser.add_argument('--head-prefix', default='head.classifier.')
    args = parser.parse_args()

    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    for wrapper_key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper_key), dict):
            checkpoint = checkpoint[wrapper_key]
            break
    converted = convert(
        checkpoint,
        backbone_prefix=args.backbone_prefix,
        neck_prefix=args.neck_prefix,
        head_prefix=args.head_prefix)
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': converted}, args.dst)
    print(f'Converted {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
