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
    blocked layout and back at each convolution; the SynthVOC CAM classifier
    (ResNet-18 of base width 32) measured 25 % faster at inference and 14 %
    faster per training step on 2 cores. Outputs agree with the NCHW run to
    float rounding, not bit for bit.

    Only for models whose operators all honour tensor strides: custom
    kernels that read the raw memory as NCHW silently return wrong values
    for a channels-last input (mmcv 2.1's CPU ``RoIAlign`` does), which is
    why configs opt in (``cpu_cfg = dict(channels_last=True)``, see
    :func:`mmwsss.utils.threads.apply_thread_plan`) instead of the tools
    applying it everywhere. Parameters are converted in place, so the
    optimizer built before the run keeps them, and checkpoints loaded
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
