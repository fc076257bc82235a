# Copyright (c) mmwsss contributors. All rights reserved.
"""Draw every test output with :class:`mmwsss.WSSSVisualizer`."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook
from PIL import Image

from mmwsss.fileio import sample_name
from mmwsss.registry import HOOKS


@HOOKS.register_module()
class WSSSVisualizationHook(Hook):
    """Save (or show) the panels of every test image, for any stage.

    The hosts' visualization hooks call their own visualizers with their own
    arguments; this one hands every output of a test run, whatever the host,
    to the runner's visualizer (a :class:`mmwsss.WSSSVisualizer`), with the
    image read from ``img_path``. ``tools/test.py --show-dir DIR`` sets it
    up: one ``<DIR>/<image stem>.png`` per image (``<stem>_<k>.png`` for
    the ``k``-th later image of the same stem, e.g. ``a/0.png`` and
    ``b/0.png``).

    Args:
        out_dir (str, optional): Folder of the drawings; None only shows.
        interval (int): Draw every ``interval``-th batch. Defaults to 1.
        show (bool): Show each drawing in a window. Defaults to False.
        wait_time (float): Seconds each shown drawing stays. Defaults to 0.
    """

    def __init__(self,
                 out_dir: Optional[str] = None,
                 interval: int = 1,
                 show: bool = False,
                 wait_time: float = 0.):
        if out_dir is None and not show:
            raise ValueError('WSSSVisualizationHook needs out_dir or show')
        self.out_dir = out_dir
        self.interval = interval
        self.show = show
        self.wait_time = wait_time

    def before_test(self, runner) -> None:
        self._drawn = {}
        runner.visualizer.dataset_meta = getattr(
            runner.test_dataloader.dataset, 'metainfo', None)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if outputs is None or not self.every_n_inner_iters(
                batch_idx, self.interval):
            return
        for sample in outputs:
            path = sample.get('img_path')
            with Image.open(path) as img:
                image = np.asarray(img.convert('RGB'))
            stem = sample_name(sample)
            repeats = self._drawn.get(stem, 0)
            self._drawn[stem] = repeats + 1
            if repeats:
                stem = f'{stem}_{repeats}'
            runner.visualizer.add_datasample(
                stem,
                image,
                sample,
                show=self.show,
                wait_time=self.wait_time,
                out_file=(None if self.out_dir is None else osp.join(
                    self.out_dir, stem + '.png')),
                step=batch_idx)
