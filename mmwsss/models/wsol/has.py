# Copyright (c) mmwsss contributors. All rights reserved.
"""Hide-and-Seek (HaS): grid patches of the training images are hidden."""
import math
import random
from typing import Tuple

import torch

from mmwsss.registry import BATCH_AUGMENTS


def hide_and_seek_grid(height: int, width: int,
                       grid_size: int) -> Tuple[int, int]:
    """Number of patch draws per image, as (row steps, column steps).

    wsolevaluation loops its first patch index over the WIDTH and its second
    over the HEIGHT, so an image takes ``ceil(W / g) * ceil(H / g)`` draws.

    Args:
        height (int): Image height H.
        width (int): Image width W.
        grid_size (int): Patch side g in pixels (> 0).

    Returns:
        tuple[int, int]: ``(ceil(W / g), ceil(H / g))``.
    """
    return math.ceil(width / grid_size), math.ceil(height / grid_size)


def hide_and_seek(images: torch.Tensor, grid_size: int, drop_rate: float,
                  draws: torch.Tensor) -> torch.Tensor:
    """Set the hidden patches of a batch to 0, as wsolevaluation's ``has``.

    Patch ``(b, i, j)`` is hidden when ``draws[b, i, j] <= drop_rate``. It
    covers rows ``[i g, min(H, i g + g))`` and columns
    ``[j g, min(H, j g + g))``: the reference clips both ranges by the
    HEIGHT and runs ``i`` up to ``ceil(W / g)``. For the square images of
    the protocol this is ordinary HaS; on non-square images it is the
    reference's mixing of the axes (rows ``>= W`` and columns ``>= H`` are
    never hidden; patches past the height are drawn but empty), reproduced
    on purpose. The images are normalised, so 0 is the dataset mean.

    Args:
        images (Tensor): (B, C, H, W) images.
        grid_size (int): Patch side g in pixels; 0 returns ``images``.
        drop_rate (float): Probability to hide a patch.
        draws (Tensor): (B, ceil(W / g), ceil(H / g)) uniform [0, 1) draws,
            in the reference's loop order (image, then i, then j); any
            device.

    Returns:
        Tensor: The images with the hidden patches at 0 (a new tensor).
    """
    if grid_size == 0:
        return images
    _, _, height, width = images.shape
    steps_i, steps_j = hide_and_seek_grid(height, width, grid_size)
    if tuple(draws.shape[1:]) != (steps_i, steps_j):
        raise ValueError(f'Expected draws of shape (B, {steps_i}, {steps_j}) '
                         f'for {height}x{width} images and grid {grid_size}, '
                         f'got {tuple(draws.shape)}')
    hidden = (draws <= drop_rate).to(images.device)
    rows = torch.arange(height, device=images.device) // grid_size
    cols = torch.arange(width, device=images.device) // grid_size
    # A row belongs to patch index i = r // g only while i < ceil(W / g);
    # a column only while it is below the height.
    row_ok = rows < steps_i
    col_ok = torch.arange(width, device=images.device) < height
    pixel_hidden = hidden[:, rows.clamp(max=steps_i - 1)][
        :, :, cols.clamp(max=steps_j - 1)]
    pixel_hidden = pixel_hidden & row_ok[None, :, None] & col_ok[None, None]
    return images.masked_fill(pixel_hidden[:, None], 0.)


@BATCH_AUGMENTS.register_module()
class HideAndSeek:
    """Hide-and-Seek batch augmentation (`Singh and Lee, ICCV 2017
    <https://arxiv.org/abs/1704.04232>`_) as wsolevaluation trains it.

    Applied to the normalised training batch before the forward. The draws
    are Python's global ``random.random()`` in the reference's order (one
    per patch, ``B * ceil(W / g) * ceil(H / g)``), so a run seeded like the
    reference hides the same patches; :func:`hide_and_seek` does the rest.

    Use it as the only batch augment of the data preprocessor:
    ``batch_augments=dict(augments=dict(type='mmwsss.HideAndSeek', ...))``.
    The scores pass through (as float, like mmpretrain's batch augments).

    Args:
        grid_size (int): Patch side in pixels (wsolevaluation's
            ``has_grid_size``). Defaults to 4.
        drop_rate (float): Probability to hide a patch. Defaults to 0.5.
    """

    def __init__(self, grid_size: int = 4, drop_rate: float = 0.5):
        if grid_size < 0 or not 0 <= drop_rate <= 1:
            raise ValueError('grid_size must be >= 0 and drop_rate in [0, 1],'
                             f' got {grid_size} and {drop_rate}')
        self.grid_size = grid_size
        self.drop_rate = drop_rate

    def __call__(
            self, inputs: torch.Tensor,
            batch_score: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.grid_size == 0:
            return inputs, batch_score.float()
        batch, _, height, width = inputs.shape
        steps = hide_and_seek_grid(height, width, self.grid_size)
        draws = torch.tensor(
            [random.random() for _ in range(batch * steps[0] * steps[1])],
            dtype=torch.float64).view(batch, *steps)
        return hide_and_seek(inputs, self.grid_size, self.drop_rate,
                             draws), batch_score.float()
