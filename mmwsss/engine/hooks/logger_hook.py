# Copyright (c) mmwsss contributors. All rights reserved.
"""A LoggerHook whose test-metric file survives distributed runs."""
import json
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook

from mmwsss.fileio import atomic_write
from mmwsss.registry import HOOKS


@HOOKS.register_module()
class DistSafeLoggerHook(LoggerHook):
    """:class:`mmengine.hooks.LoggerHook` with a rank-0 test-metric file.

    mmengine 0.10.7 writes ``<log_dir>/<timestamp>.json`` after a test
    epoch from every rank, in ``'w'`` mode and into the same file, so a
    distributed ``tools/test.py`` run can leave the two writes interleaved
    (unparsable JSON). Here only the main process writes it, atomically.
    ``tools/test.py`` swaps this hook in for the stock one; everything else
    is inherited.
    """

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if not is_main_process():
            return
        text = json.dumps(self._process_tags(tag))
        atomic_write(
            osp.join(runner.log_dir, self.json_log_path),
            lambda f: f.write(text.encode()))
