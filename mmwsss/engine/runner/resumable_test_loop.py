# Copyright (c) mmwsss contributors. All rights reserved.
"""A test loop for long, resumable batch jobs driven by writer evaluators."""
import os.path as osp
import traceback
from typing import List, Sequence

import torch
from mmengine.dist import all_gather_object, get_rank
from mmengine.runner import TestLoop, autocast
from tqdm import tqdm

from mmwsss.evaluation.writers import BaseWriter
from mmwsss.fileio import sample_name
from mmwsss.registry import LOOPS


class AllBatchesFailedError(RuntimeError):
    """No batch of a test job could be predicted."""


@LOOPS.register_module()
class ResumableTestLoop(TestLoop):
    """``TestLoop`` that skips finished items and survives bad ones.

    - For a batch whose every item already has an output file in every
      writer evaluator (:class:`mmwsss.BaseWriter`), the model is not run:
      the predictions are read back from the files, so the other metrics of
      the run still see every item. Rerunning a killed job with the same
      command therefore finishes it.
    - An error while loading or predicting a batch is recorded (with the
      files involved, if known) and the loop goes on, unless
      ``stop_on_error`` is set. Failures of all ranks end up in the writers'
      manifests.
    - Rank 0 shows a progress bar.
    - When every batch failed, the writers' manifests are written and
      :class:`AllBatchesFailedError` says how many failed, the first error
      and where the manifests are (instead of metrics failing on no
      results); when some failed, a warning at the end says how many.

    Use it as ``test_cfg = dict(type='mmwsss.ResumableTestLoop')``.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Test dataloader.
        evaluator (Evaluator | dict | list): Metrics and writers.
        fp16 (bool): Autocast the forward. Defaults to False.
        stop_on_error (bool): Re-raise the first error. Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator,
                 fp16: bool = False,
                 stop_on_error: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.stop_on_error = stop_on_error
        self.writers: List[BaseWriter] = [
            m for m in self.evaluator.metrics if isinstance(m, BaseWriter)
        ]
        self.failures: List[dict] = []

    def run(self) -> dict:
        """Run the test job."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        cfg = self.runner.cfg
        for writer in self.writers:
            writer.set_run_info(cfg.pretty_text, cfg.get('filename'),
                                cfg.get('load_from'))
        self.failures = []
        self.num_done = 0
        progress = tqdm(
            total=len(self.dataloader),
            desc='test',
            disable=get_rank() != 0,
            mininterval=2.0,
            dynamic_ncols=True)
        batches = iter(self.dataloader)
        idx = 0
        while True:
            try:
                data_batch = next(batches)
            except StopIteration:
                break
            except Exception as e:
                self._record(idx, None, e)
            else:
                self.run_iter(idx, data_batch)
            idx += 1
            progress.update(1)
        progress.close()

        gathered = all_gather_object((self.failures, self.num_done))
        failures = [f for rank_failures, _ in gathered for f in rank_failures]
        num_done = sum(done for _, done in gathered)
        for writer in self.writers:
            writer.failures = failures
        if failures:
            self._report_failures(failures, num_done)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    def _cached(self, data_samples: Sequence) -> bool:
        return bool(self.writers) and all(
            w.has_output(s) for w in self.writers for s in data_samples)

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict) -> None:
        """Predict (or read back) one batch and feed the evaluators."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        samples = data_batch['data_samples']
        try:
            if self._cached(samples):
                outputs = samples
                for writer in self.writers:
                    outputs = [writer.load_output(s) for s in outputs]
            else:
                with autocast(enabled=self.fp16):
                    outputs = self.runner.model.test_step(data_batch)
            self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        except Exception as e:
            self._record(idx, samples, e)
            return
        self.num_done += 1
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)

    def _manifests(self) -> str:
        return ', '.join(
            osp.join(w.output_dir, 'manifest.json')
            for w in self.writers) or '(no writer in this job)'

    def _report_failures(self, failures: List[dict], num_done: int) -> None:
        first = failures[0]
        where = (f'batch {first["batch"]} on rank {first["rank"]} '
                 f'({first["items"] or "not loaded"})')
        if num_done == 0:
            if get_rank() == 0:
                for writer in self.writers:
                    writer.compute_metrics([])  # the manifest, failures in
            raise AllBatchesFailedError(
                f'All {len(failures)} batches of this job failed; nothing '
                f'was predicted or scored. First error, {where}: '
                f'{first["error"]}. Every failure is listed in '
                f'{self._manifests()} and in the log above.')
        self.runner.logger.warning(
            f'{len(failures)} of {len(failures) + num_done} batches failed '
            f'and were skipped; metrics cover the others. First error, '
            f'{where}: {first["error"]}. Every failure is listed in '
            f'{self._manifests()}.')

    def _record(self, idx: int, samples, error: Exception) -> None:
        if self.stop_on_error:
            raise error
        items = [sample_name(s) for s in samples] if samples else None
        self.failures.append(
            dict(
                rank=get_rank(),
                batch=idx,
                items=items,
                error=f'{type(error).__name__}: {error}'))
        self.runner.logger.error(
            f'Batch {idx} ({items or "not loaded"}) failed and is skipped: '
            f'{type(error).__name__}: {error}\n{traceback.format_exc()}')
