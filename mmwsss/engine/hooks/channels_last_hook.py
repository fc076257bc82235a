# Copyright (c) mmwsss contributors. All rights reserved.
"""Run a convolutional model with channels-last weights."""
import logging

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmwsss.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Store the model's 4-D parameters and buffers channels-last (NHWC)
    before the run starts.

    A convolution whose weight is channels-last returns a channels-last
    output whatever its input's layout, so the whole network then runs
    NHWC. On CPU, oneDNN otherwise reorders every NCHW activation to its
    blocked layout and back at each convolution; the test steps of the
    SynthVOC models measured 1.1-1.7x faster on 2 cores
    (``benchmarks/channels_last.py``). Outputs agree with the NCHW run to
    float rounding, not bit for bit, which is why ``tools/test.py`` adds the
    hook (where the config opts in, see
    :func:`mmwsss.utils.threads.add_channels_last_hook`) and training runs
    as written unless a config lists the hook itself: over a training run
    the differences grow into other weights.

    Only for models whose operators all honour tensor strides: custom
    kernels that read the raw memory as NCHW silently return wrong values
    for a channels-last input (mmcv 2.1's CPU ``RoIAlign`` does), which is
    why configs opt in (``cpu_cfg = dict(channels_last=True)``) instead of
    the tools applying it everywhere. Parameters are converted in place, so
    an optimizer built before the run keeps them, and checkpoints loaded
    afterwards are copied into the channels-last tensors.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Convert the model.

        Args:
            runner (Runner): The runner of the job.
        """
        runner.model.to(memory_format=torch.channels_last)
        print_log(
            'ChannelsLastHook: the model runs with channels-last weights',
            logger='current',
            level=logging.INFO)
