# Copyright (c) mmwsss contributors. All rights reserved.
"""The ``grad-cam`` package applied to mmpretrain classifiers: method names,
target layers, token-grid reshapes and unnormalised class maps."""
import math
import re
from typing import Dict, Optional, Sequence, Type, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from pytorch_grad_cam import (EigenCAM, GradCAM, GradCAMPlusPlus, LayerCAM,
                              ScoreCAM, XGradCAM)
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

from mmwsss.utils import to_numpy

#: Method names (lower case) of :class:`mmwsss.GradCAMClassifier` and
#: ``tools/analysis/visualize_cam.py``.
GRADCAM_METHODS: Dict[str, Type[BaseCAM]] = {
    'gradcam': GradCAM,
    'gradcampp': GradCAMPlusPlus,
    'gradcam++': GradCAMPlusPlus,
    'layercam': LayerCAM,
    'xgradcam': XGradCAM,
    'scorecam': ScoreCAM,
    'eigencam': EigenCAM,
}


def gradcam_method(name: str) -> Type[BaseCAM]:
    """The ``grad-cam`` class of a method name (case-insensitive)."""
    try:
        return GRADCAM_METHODS[name.lower()]
    except KeyError:
        raise ValueError(f'Unknown CAM method {name!r}; choose one of '
                         f'{sorted(GRADCAM_METHODS)}') from None


def resolve_module(model: nn.Module, path: str) -> nn.Module:
    """The submodule of ``model`` at a dotted path.

    Integer parts index containers and may be negative;
    ``backbone.layers[-1].ln1`` (the syntax of mmpretrain's ``vis_cam.py``)
    equals ``backbone.layers.-1.ln1``.

    Args:
        model (nn.Module): The root module.
        path (str): E.g. ``'backbone.layer4'`` or ``'backbone.layers.11.ln1'``.

    Returns:
        nn.Module: The submodule.

    Raises:
        ValueError: If a part does not exist (the message lists the children
            of the last module found).
    """
    parts = [p for p in re.sub(r'\[(-?\d+)\]', r'.\1', path).split('.') if p]
    if not parts:
        raise ValueError('Empty target layer path')
    module, found = model, []
    for part in parts:
        children = dict(module.named_children())
        if part in children:
            module = children[part]
        elif re.fullmatch(r'-?\d+', part) and isinstance(
                module, (nn.ModuleList, nn.Sequential)) and \
                -len(module) <= int(part) < len(module):
            module = module[int(part)]
        else:
            where = '.'.join(found) or type(model).__name__
            raise ValueError(
                f'Target layer {path!r}: {where} has no submodule {part!r}; '
                f'its children are {sorted(children)}')
        found.append(part)
    return module


def default_target_layer(model: nn.Module) -> str:
    """A sensible Grad-CAM target layer of an mmpretrain classifier.

    - ViT-like backbones (``layers`` of transformer encoder layers with
      ``ln1``: ``VisionTransformer``, ``DeiT`` ...): the first norm of the
      last layer, ``backbone.layers.<L-1>.ln1`` (its output feeds the
      attention that forms the class token, as in the ``grad-cam`` ViT
      recipe);
    - Swin (``stages`` of ``blocks``): ``backbone.stages.<S-1>.blocks.<B-1>
      .norm1``;
    - ResNet-like (``res_layers``): the last residual stage, e.g.
      ``backbone.layer4``.

    Args:
        model (nn.Module): A classifier with a ``backbone``.

    Returns:
        str: The module path.

    Raises:
        ValueError: For other backbones (pass the layer explicitly).
    """
    backbone = getattr(model, 'backbone', None)
    layers = getattr(backbone, 'layers', None)
    if isinstance(layers, nn.ModuleList) and len(layers) and hasattr(
            layers[-1], 'ln1'):
        return f'backbone.layers.{len(layers) - 1}.ln1'
    stages = getattr(backbone, 'stages', None)
    if isinstance(stages, nn.ModuleList) and len(stages) and hasattr(
            stages[-1], 'blocks') and hasattr(stages[-1].blocks[-1], 'norm1'):
        return (f'backbone.stages.{len(stages) - 1}.blocks.'
                f'{len(stages[-1].blocks) - 1}.norm1')
    res_layers = getattr(backbone, 'res_layers', None)
    if res_layers:
        return f'backbone.{res_layers[-1]}'
    raise ValueError(
        f'No default Grad-CAM target layer for {type(backbone).__name__}; '
        'give one, e.g. target_layer="backbone.<module path>"')


class TokenGridReshape:
    """``reshape_transform`` of ``grad-cam``: ViT tokens to a feature map.

    A (B, L, C) token output loses its ``num_extra_tokens`` leading tokens
    (class / distillation tokens) and becomes (B, C, h, w) on the patch grid
    of the current input: the grid that the backbone's ``patch_embed``
    returned in the last forward (mmpretrain's ``PatchEmbed`` gives
    ``(tokens, (h, w))``), or a multiple-of-2 downsampling of it (Swin's
    later stages, which pad odd sizes), whichever has the right number of
    tokens; without ``patch_embed`` the grid must be square. (B, C, H, W)
    outputs pass unchanged.

    Call :meth:`release` to remove the hook on ``patch_embed``.

    Args:
        backbone (nn.Module): The backbone.
        num_extra_tokens (int, optional): Leading non-patch tokens.
            Defaults to None (the backbone's ``num_extra_tokens``, else 0).
        vit_like (bool, optional): True requires token outputs, False
            feature maps; None (default) accepts both.
    """

    def __init__(self,
                 backbone: nn.Module,
                 num_extra_tokens: Optional[int] = None,
                 vit_like: Optional[bool] = None):
        if num_extra_tokens is None:
            num_extra_tokens = int(getattr(backbone, 'num_extra_tokens', 0))
        self.num_extra_tokens = num_extra_tokens
        self.vit_like = vit_like
        self.grid = None
        patch_embed = getattr(backbone, 'patch_embed', None)
        self._handle = None if patch_embed is None else \
            patch_embed.register_forward_hook(self._record_grid)

    def _record_grid(self, module, args, output) -> None:
        if isinstance(output, (tuple, list)) and len(output) == 2:
            self.grid = tuple(int(s) for s in output[1])

    def _grid_of(self, num_patches: int) -> tuple:
        if self.grid is not None:
            height, width = self.grid
            for level in range(6):
                factor = 2**level
                grid = (math.ceil(height / factor), math.ceil(width / factor))
                if grid[0] * grid[1] == num_patches:
                    return grid
        side = math.isqrt(num_patches)
        if side * side == num_patches and self.grid is None:
            return side, side
        raise ValueError(
            f'Cannot arrange {num_patches} tokens (after '
            f'{self.num_extra_tokens} extra tokens) on the patch grid '
            f'{self.grid}; check num_extra_tokens or the target layer')

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        if output.dim() == 4 and self.vit_like is not True:
            return output
        if output.dim() != 3 or self.vit_like is False:
            raise ValueError(
                f'Target layer output of shape {tuple(output.shape)}: '
                'expected (B, C, H, W) feature maps' + (
                    '' if self.vit_like is False else
                    ' or (B, L, C) tokens (vit_like)'))
        patches = output[:, self.num_extra_tokens:]
        height, width = self._grid_of(patches.size(1))
        return patches.reshape(
            output.size(0), height, width, -1).permute(0, 3, 1, 2)

    def release(self) -> None:
        """Remove the hook on ``patch_embed``."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


class ClassifierLogits(nn.Module):
    """An mmpretrain classifier as a plain ``images -> logits`` module.

    ``grad-cam`` calls ``model(images)``; mmpretrain classifiers need
    ``mode='tensor'`` for the head's logits (before sigmoid / softmax).
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(inputs, mode='tensor')


def build_gradcam(classifier: nn.Module,
                  method: str,
                  target_layers: Sequence[str],
                  num_extra_tokens: Optional[int] = None,
                  vit_like: Optional[bool] = None) -> BaseCAM:
    """A ``grad-cam`` object of an mmpretrain classifier.

    Release it with :func:`release_gradcam` (its hooks stay otherwise).

    Args:
        classifier (nn.Module): An mmpretrain ``ImageClassifier``.
        method (str): A key of :data:`GRADCAM_METHODS`.
        target_layers (Sequence[str]): Module paths (see
            :func:`resolve_module`).
        num_extra_tokens (int, optional): See :class:`TokenGridReshape`.
        vit_like (bool, optional): See :class:`TokenGridReshape`.

    Returns:
        BaseCAM: The CAM object; ``cam.reshape_transform`` is a
        :class:`TokenGridReshape`.
    """
    cam_type = gradcam_method(method)
    layers = [resolve_module(classifier, path) for path in target_layers]
    if not layers:
        raise ValueError('At least one target layer is needed')
    reshape = TokenGridReshape(classifier.backbone, num_extra_tokens,
                               vit_like)
    try:
        # grad-cam sets eval mode on its model; restore the caller's mode.
        training = classifier.training
        cam = cam_type(
            model=ClassifierLogits(classifier),
            target_layers=layers,
            reshape_transform=reshape)
        classifier.train(training)
    except BaseException:
        reshape.release()
        raise
    return cam


def release_gradcam(cam: BaseCAM) -> None:
    """Remove every hook that :func:`build_gradcam` installed."""
    cam.activations_and_grads.release()
    cam.reshape_transform.release()


class _TargetLayerTap:
    """Keeps the output of a module in a forward, on its device.

    It keeps the first output after :meth:`reset` (as ``grad-cam`` keeps the
    first activation), as it was: the model goes on with a copy, which
    later in-place operations (a residual ``+=``, an in-place ReLU) may
    change. With gradients enabled the kept output is a leaf that requires
    them, so autograd stops there (and, with frozen parameters, records the
    model from that layer on only).
    """

    def __init__(self, layer: nn.Module):
        self.output = None
        self._handle = layer.register_forward_hook(self._record)

    def _record(self, module, args,
                output: torch.Tensor) -> Optional[torch.Tensor]:
        if self.output is not None:
            return None
        if not torch.is_grad_enabled():
            self.output = output.clone()
            return None
        self.output = output.detach().requires_grad_()
        return self.output.clone()

    def reset(self) -> None:
        """Drop the kept output (and the graph it holds)."""
        self.output = None

    def release(self) -> None:
        """Remove the hook."""
        self.reset()
        self._handle.remove()


def _method_name(cam: BaseCAM) -> str:
    for name, cam_type in GRADCAM_METHODS.items():
        if type(cam) is cam_type:
            return name
    raise ValueError(f'{type(cam).__name__} is not one of the methods of '
                     f'GRADCAM_METHODS: {sorted(GRADCAM_METHODS)}')


def _weighted_activations(method: str, activations: torch.Tensor,
                          grads: torch.Tensor) -> torch.Tensor:
    """The activations (N, C, h, w) weighted as by a gradient method of
    ``grad-cam`` (its ``get_cam_image`` before the channel sum)."""
    if method == 'layercam':
        return grads.clamp(min=0) * activations
    if method == 'gradcam':
        weights = grads.mean(dim=(2, 3))
    elif method in ('gradcampp', 'gradcam++'):
        # Grad-CAM++ (eq. 19 of arXiv:1710.11063), zero where the gradient is.
        grads_2 = grads.pow(2)
        sums = activations.sum(dim=(2, 3), keepdim=True)
        alpha = grads_2 / (2 * grads_2 + sums * grads_2 * grads + 1e-6)
        alpha = torch.where(grads != 0, alpha, 0)
        weights = (grads.clamp(min=0) * alpha).sum(dim=(2, 3))
    else:  # xgradcam
        sums = activations.sum(dim=(2, 3), keepdim=True)
        weights = (grads * activations / (sums + 1e-7)).sum(dim=(2, 3))
    return weights[:, :, None, None] * activations


def _scorecam_weights(model: nn.Module, images: torch.Tensor,
                      activations: torch.Tensor, classes: torch.Tensor,
                      batch_size: int) -> torch.Tensor:
    """ScoreCAM's channel weights (N, K, C) of ``grad-cam``.

    Each activation map, upsampled to the image (bilinear, corners aligned)
    and min-max scaled, masks its image; the weights are the softmax over
    the channels of the target logits of the masked images. The masked
    images are made and scored ``batch_size`` at a time, and every class of
    an image reads the same forward.
    """
    num_images, channels = activations.shape[:2]
    maps = activations.flatten(0, 1)[:, None]
    scores = []
    for start in range(0, num_images * channels, batch_size):
        masks = F.interpolate(
            maps[start:start + batch_size],
            images.shape[-2:],
            mode='bilinear',
            align_corners=True)
        low = masks.amin(dim=(2, 3), keepdim=True)
        high = masks.amax(dim=(2, 3), keepdim=True)
        masks = (masks - low) / (high - low + 1e-8)
        owner = torch.arange(
            start, start + masks.size(0), device=images.device) // channels
        logits = model(images[owner] * masks)
        scores.append(logits.gather(1, classes[owner]))
    scores = torch.cat(scores).view(num_images, channels, -1)
    return scores.transpose(1, 2).softmax(dim=-1)


def _chunk_maps(cam: BaseCAM, method: str, tap: _TargetLayerTap,
                images: torch.Tensor, classes: torch.Tensor,
                eigen_smooth: bool, masked_batch: int) -> torch.Tensor:
    """Maps (n, K, h, w) of a chunk of images, or what the 2-D projection
    takes: weighted activations (n, K, C, h, w), EigenCAM's activations
    (n, 1, C, h, w)."""
    reshape = cam.reshape_transform or (lambda x: x)
    num_classes = classes.size(1)
    per_class = []
    tap.reset()
    try:
        if cam.uses_gradients:
            with torch.enable_grad():
                logits = cam.model(images)
                output = tap.output
                activations = reshape(output.detach()).float()
                # One forward; a backward from each class to the layer only.
                for k in range(num_classes):
                    score = logits.gather(1, classes[:, k:k + 1]).sum()
                    grads, = torch.autograd.grad(
                        score, output, retain_graph=k + 1 < num_classes)
                    weighted = _weighted_activations(method, activations,
                                                     reshape(grads).float())
                    per_class.append(
                        weighted if eigen_smooth else weighted.sum(dim=1))
        else:
            with torch.no_grad():
                cam.model(images)
                activations = reshape(tap.output).float()
                if method == 'eigencam':
                    return activations[:, None]
                weights = _scorecam_weights(cam.model, images, activations,
                                            classes, masked_batch)
                for k in range(num_classes):
                    weighted = weights[:, k, :, None, None] * activations
                    per_class.append(
                        weighted if eigen_smooth else weighted.sum(dim=1))
    finally:
        tap.reset()
    return torch.stack(per_class, dim=1)


def raw_gradcam_maps(cam: BaseCAM,
                     inputs: torch.Tensor,
                     classes: Union[torch.Tensor, Sequence],
                     eigen_smooth: bool = False,
                     max_batch: Optional[int] = None) -> torch.Tensor:
    """Unnormalised maps of a ``grad-cam`` method at the target layer.

    What ``cam(inputs, targets)`` computes before its per-image min-max
    scaling and resizing: the method's ``get_cam_image`` of the (first)
    target layer's activations and of the gradients of the class logit,
    then ReLU; the same operations in torch, on the device of ``inputs``
    (equal to ``grad-cam``'s NumPy results up to float32 rounding).
    EigenCAM, and ``eigen_smooth``, project onto the first principal
    component with ``grad-cam``'s NumPy SVD: its sign convention decides
    the sign of each map (another SVD may flip it, and the ReLU then keeps
    the other part), so those maps go to the host once per call, after
    every forward.

    Every image runs forward once, whatever the number of its classes: a
    gradient method then back-propagates from each class's logit down to
    the target layer only; ScoreCAM scores each masked image for all the
    classes at once. The images must not interact (BatchNorm in eval
    mode). With frozen parameters autograd records the model from the
    target layer on only. The activations are the layer's output as it
    was, before any in-place operation of the model on it (``grad-cam`` on
    a CPU reads them after).

    Args:
        cam (BaseCAM): From :func:`build_gradcam`; one of
            :data:`GRADCAM_METHODS`. Only its model, first target layer and
            reshape transform are used (its own hooks, which copy every
            activation to the host, are not needed).
        inputs (Tensor): Normalised images (N, 3, H, W).
        classes (Tensor | Sequence): The target class of each image (N, ),
            or K target classes of each image (N, K).
        eigen_smooth (bool): Project onto the first principal component.
            Defaults to False.
        max_batch (int, optional): The most images in one forward pass: the
            N images in chunks of it, and ScoreCAM's N x C masked images.
            Defaults to None (the N images at once, the masked images 16 at
            a time as in ``grad-cam``). The maps do not depend on it.

    Returns:
        Tensor: float32 maps >= 0 on the target layer's grid, on the device
        of ``inputs``: (N, h, w) for (N, ) classes, (N, K, h, w) for (N, K).
    """
    method = _method_name(cam)
    classes = torch.as_tensor(classes, dtype=torch.long, device=inputs.device)
    per_image = classes.dim() == 1
    if per_image:
        classes = classes[:, None]
    if classes.dim() != 2 or classes.size(0) != inputs.size(0) or \
            classes.size(1) == 0:
        raise ValueError(f'classes of shape {tuple(classes.shape)} for '
                         f'{inputs.size(0)} inputs: expected (N, ) or (N, K)')
    if torch.is_inference_mode_enabled():
        raise RuntimeError('Grad-CAM needs autograd; run it under '
                           'torch.no_grad(), not torch.inference_mode()')
    if max_batch is not None and max_batch < 1:
        raise ValueError(f'max_batch must be >= 1, got {max_batch}')
    step = max_batch or inputs.size(0)
    tap = _TargetLayerTap(cam.target_layers[0])
    try:
        maps = torch.cat([
            _chunk_maps(cam, method, tap, inputs[start:start + step],
                        classes[start:start + step], eigen_smooth,
                        max_batch or 16)
            for start in range(0, inputs.size(0), step)
        ])
    finally:
        tap.release()
        cam.activations_and_grads.clear()
    if method == 'eigencam' or eigen_smooth:
        projected = get_2d_projection(to_numpy(maps.flatten(0, 1)))
        maps = torch.from_numpy(projected).to(inputs.device).view(
            *maps.shape[:2], *projected.shape[1:]).expand(
                *classes.shape, *projected.shape[1:])
    maps = maps.clamp(min=0)
    return maps[:, 0] if per_image else maps
