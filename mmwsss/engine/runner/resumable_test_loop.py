# Copyright (c) mmwsss contributors. All rights reserved.
"""A test loop for long, resumable batch jobs driven by writer evaluators."""
import copy
import logging
import time
import traceback
from typing import Any, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_rank)
from mmengine.logging import print_log
from mmengine.runner import TestLoop, autocast
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from mmwsss.evaluation.writers import BaseWriter, StaleOutputError
from mmwsss.evaluation.writers.fingerprint import job_fingerprint
from mmwsss.fileio import UniqueNames, UnsafeNameError, sample_name
from mmwsss.registry import LOOPS

# Failed items listed by name in the summary (the manifest has them all).
_LISTED = 10
# loading='fastest': timed batches in each place, and the fewest batches a
# job needs for the trial (most of the job then runs at the chosen place).
TRIAL_BATCHES = 16
MIN_TRIAL_JOB = 8 * TRIAL_BATCHES


class ItemsFailedError(RuntimeError):
    """Items of a test job failed (and failures are not allowed)."""


class AllBatchesFailedError(ItemsFailedError):
    """No item of a test job could be predicted."""


class _FailedItem:
    """What a dataset item that could not be loaded leaves in its batch."""

    def __init__(self, index: int, name: Optional[str], error: str,
                 trace: str):
        self.index = index
        self.name = name
        self.error = error
        self.trace = trace


class _GuardedDataset(Dataset):
    """A dataset whose items that fail to load become :class:`_FailedItem`,
    so that one bad file does not fail the other items of its batch."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        if name == 'dataset':  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except Exception as error:
            try:
                name = sample_name(self.dataset.get_data_info(index))
            except Exception:
                name = None
            return _FailedItem(index, name,
                               f'{type(error).__name__}: {error}',
                               traceback.format_exc())


class _GuardedCollate:
    """Collates the loaded items of a batch; returns ``(batch or None,
    failed items)``."""

    def __init__(self, collate_fn):
        self.collate_fn = collate_fn

    def __call__(self, items: list) -> Tuple[Optional[Any], list]:
        failed = [item for item in items if isinstance(item, _FailedItem)]
        loaded = [item for item in items if not isinstance(item, _FailedItem)]
        return (self.collate_fn(loaded) if loaded else None), failed


def _loader_like(loader: DataLoader,
                 dataset: Optional[Dataset] = None,
                 batch_sampler: Any = None,
                 num_workers: Optional[int] = None,
                 collate_fn: Any = None) -> DataLoader:
    """A loader with the settings of ``loader`` but for those given."""
    num_workers = loader.num_workers if num_workers is None else num_workers
    kwargs = dict(
        batch_sampler=loader.batch_sampler
        if batch_sampler is None else batch_sampler,
        num_workers=num_workers,
        collate_fn=loader.collate_fn if collate_fn is None else collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        persistent_workers=loader.persistent_workers and num_workers > 0,
        pin_memory_device=loader.pin_memory_device)
    if num_workers > 0 and loader.num_workers > 0:
        kwargs['prefetch_factor'] = loader.prefetch_factor
    return DataLoader(loader.dataset if dataset is None else dataset,
                      **kwargs)


def _guarded(loader: DataLoader) -> DataLoader:
    """The same loader (sampler, workers...) over a guarded dataset."""
    return _loader_like(
        loader,
        dataset=_GuardedDataset(loader.dataset),
        collate_fn=_GuardedCollate(loader.collate_fn))


class LoadingTrial:
    """The batches of a test loader with workers, loaded where they go
    faster.

    The loader's workers start first, while the process is lean (a trial
    whose workers started after the model's first batches ran slower than
    both fixed places on SynthVOC, likely the copy-on-write of the grown
    heap after the fork), and prefetch their first batches while the main
    process loads ``trial`` batches to warm up. Then the
    workers' batches come, those prefetched untimed and ``trial`` more
    timed, then ``trial`` loaded in the main process, timed, the work done
    on each batch included. The two places see different images, whose
    sizes vary (SynthVOC's 4-fold in pixels), so each is timed per input
    value (the elements of the batches' tensors). The rest is loaded where
    that time was shorter: the same workers go on (they wait with their
    prefetched batches meanwhile), or they stop. The same batches come in
    the same order either way; the choice is logged.

    Iterate it like the loader: an error raised while loading a batch
    (e.g. by the collate function) reaches the caller, and the next batch
    follows.

    Args:
        loader (DataLoader): The test loader, with workers.
        trial (int): Timed batches of each place.
    """

    def __init__(self, loader: DataLoader, trial: int):
        self.loader = loader
        self.trial = trial
        self.batches = list(loader.batch_sampler)
        # batch indices where each phase starts: the workers' batches in
        # flight when they take over are untimed
        self._worker_start = trial
        self._main_start = (
            trial + loader.prefetch_factor * loader.num_workers + trial)
        self._end = self._main_start + trial
        #: seconds per input value in each place, once timed
        self.times = {}
        self.place = 'main'
        self._taken = 0  # batches handed out
        self._start = 0.0
        self._elements = 0  # input values of the timed batches so far
        # the workers load their trial, then the batches after the main
        # process's trial
        self._workers = self._load(
            self.batches[self._worker_start:self._main_start] +
            self.batches[self._end:], loader.num_workers)
        self._main = self._load(self.batches[:self._worker_start], 0)

    def _load(self, batches: list, workers: int):
        return iter(
            _loader_like(
                self.loader, batch_sampler=batches, num_workers=workers))

    def __iter__(self):
        return self

    def __next__(self):
        taken = self._taken
        if taken == self._worker_start:
            self.place = 'workers'
        elif taken == self._main_start - self.trial:
            self._start = time.perf_counter()
        elif taken == self._main_start:
            self._stop_clock('workers')
            self.place = 'main'
            self._main = self._load(self.batches[self._main_start:], 0)
        elif taken == self._end:
            self._stop_clock('main')
            self._choose()
        self._taken += 1
        batch = next(self._main if self.place == 'main' else self._workers)
        if self._main_start - self.trial <= taken < self._end:
            self._elements += _elements(batch)
        return batch

    def _stop_clock(self, place: str) -> None:
        now = time.perf_counter()
        self.times[place] = (now - self._start) / max(self._elements, 1)
        self._start, self._elements = now, 0

    def _choose(self) -> None:
        self.place = min(self.times, key=self.times.get)
        main, workers = (self.times[place] * 1e6
                         for place in ('main', 'workers'))
        print_log(
            'Test time per million input values with the batches loaded in '
            f'the main process {main:.3f} s, in the loader\'s '
            f'{self.loader.num_workers} workers {workers:.3f} s '
            f'({self.trial} batches each): loading the other '
            f'{len(self.batches) - self._taken} in the '
            f'{"main process" if self.place == "main" else "workers"}.',
            logger='current',
            level=logging.INFO)
        if self.place == 'main':
            self._workers = None  # stops them
        else:
            self._main = None


def _elements(value: Any) -> int:
    """The elements of the tensors in a batch (nested lists, tuples,
    dicts)."""
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return sum(_elements(item) for item in value)
    return 0


def _take(value: Any, index: int, size: int) -> Any:
    """Item ``index`` of a collated field of a batch of ``size`` items."""
    if isinstance(value, dict):
        return {k: _take(v, index, size) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and len(value) == size:
        return type(value)([value[index]])
    if isinstance(value, torch.Tensor) and value.dim() and len(value) == size:
        return value[index:index + 1]
    return value


def split_batch(data_batch: dict) -> List[dict]:
    """A collated batch as batches of one item each.

    Args:
        data_batch (dict): ``inputs`` and ``data_samples`` as a collate
            function makes them (lists, or tensors stacked on dim 0).

    Returns:
        list[dict]: One batch per item, in order.
    """
    size = len(data_batch['data_samples'])
    return [_take(data_batch, i, size) for i in range(size)]


def check_dataset_names(dataset: Any) -> None:
    """Refuse a dataset whose items would leave or share their files.

    Every item's name (:func:`mmwsss.fileio.sample_name`) is checked before
    any work, with the dataset and its split file in the message. Items
    whose data info has neither ``img_id`` nor ``img_path`` are left to the
    writers' own check.

    Args:
        dataset (Dataset): The test dataset.

    Raises:
        UnsafeNameError: If a name would leave its folder.
        NameCollisionError: If two images share a name.
    """
    if not hasattr(dataset, 'get_data_info'):
        return
    source = type(dataset).__name__
    ann_file = getattr(dataset, 'ann_file', None)
    if ann_file:
        source += f' ({ann_file})'
    names = UniqueNames(source)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if info.get('img_id') is None and info.get('img_path') is None:
            continue
        try:
            name = sample_name(info)
        except UnsafeNameError as error:
            raise UnsafeNameError(f'{error} Item {index} of {source}.')
        names.add(name, str(info.get('img_path') or index))


def _per_image(data_samples: Sequence) -> list:
    """The samples of a batch, one per image: a test-time augmentation
    batch holds one list per augmentation, of the same images, and the
    first (its samples carry the image's name and ground truth) stands for
    them."""
    if len(data_samples) and isinstance(data_samples[0], (list, tuple)):
        return list(data_samples[0])
    return list(data_samples)


@LOOPS.register_module()
class ResumableTestLoop(TestLoop):
    """``TestLoop`` that skips finished items and survives bad ones.

    - Before any work, the names of the dataset's items are checked (no
      file outside its folder, no two images on one file) and each writer
      evaluator (:class:`mmwsss.BaseWriter`) checks that its folder holds no
      outputs of another run (:meth:`BaseWriter.prepare_output_dir`;
      ``overwrite`` deletes them instead).
    - For a batch whose every item already has an output file in every
      writer, the model is not run: the predictions are read back from the
      files, so the other metrics of the run still see every item. Rerunning
      a killed job with the same command therefore finishes it. A file that
      does not load is written again.
    - Failures are per item: an item that cannot be loaded leaves the others
      of its batch alone, and when predicting or scoring a batch fails, its
      items are retried one by one, so that only the bad ones fail. Each
      failure is recorded (rank, batch, item, error) and the loop goes on,
      unless ``stop_on_error`` is set: then the writers' manifests are
      written and the error is raised.
    - At the end the failures of all ranks go into the writers' manifests.
      When items failed, a summary (how many, which, where the manifests
      are) is raised as :class:`ItemsFailedError` after the metrics are
      computed and logged (``tools/test.py`` exits 1), or logged as a
      warning with ``allow_failures``. When no item could be predicted,
      :class:`AllBatchesFailedError` is raised in any case.
    - Rank 0 shows a progress bar.
    - Where the batches load is ``loading``: in the loader's workers, or,
      with ``'fastest'``, where a trial found them faster
      (:class:`LoadingTrial`, jobs of at least :data:`MIN_TRIAL_JOB`
      batches; the outputs are the same either way). The tools choose
      ``'fastest'`` for CPU test jobs on few cores
      (:func:`mmwsss.utils.threads.tries_main_process_test_loading`).

    Use it as ``test_cfg = dict(type='mmwsss.ResumableTestLoop')``.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Test dataloader.
        evaluator (Evaluator | dict | list): Metrics and writers.
        fp16 (bool): Autocast the forward. Defaults to False.
        stop_on_error (bool): Re-raise the first error. Defaults to False.
        allow_failures (bool): Finish normally when some items failed (a
            warning says so). Defaults to False.
        overwrite (bool): Let every writer delete the outputs of another run
            in its folder. Defaults to False.
        loading (str): ``'workers'`` (the loader as configured) or
            ``'fastest'``. Defaults to ``'workers'``.
    """

    LOADING = ('workers', 'fastest')

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator,
                 fp16: bool = False,
                 stop_on_error: bool = False,
                 allow_failures: bool = False,
                 overwrite: bool = False,
                 loading: str = 'workers'):
        if loading not in self.LOADING:
            raise ValueError(
                f'loading must be one of {self.LOADING}, got {loading!r}')
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.dataloader = _guarded(self.dataloader)
        self.stop_on_error = stop_on_error
        self.allow_failures = allow_failures
        self.overwrite = overwrite
        self.loading = loading
        self.writers: List[BaseWriter] = [
            m for m in self.evaluator.metrics if isinstance(m, BaseWriter)
        ]
        self.failures: List[dict] = []
        #: Where the last run's loading trial kept loading and the seconds
        #: per input value it measured in each place
        #: (``dict(place=..., seconds_per_value={...})``), or None where it
        #: ran none. Not the trial itself: its loaders would keep their
        #: workers alive.
        self.loading_choice: Optional[dict] = None

    def run(self) -> dict:
        """Run the test job."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        if self.writers:
            self._prepare_writers()
        self.failures = []
        self.num_done = 0
        progress = tqdm(
            total=len(self.dataloader),
            desc='test',
            disable=get_rank() != 0,
            mininterval=2.0,
            dynamic_ncols=True)
        batches = self._batches()
        self.loading_choice = None
        idx = 0
        while True:
            try:
                data_batch, failed = next(batches)
            except StopIteration:
                break
            except Exception as e:  # e.g. a collate error: items unknown
                self._record(idx, None, e)
            else:
                for item in failed:
                    self._record(idx, item.name, item.error, item.trace)
                if data_batch is not None:
                    self.run_iter(idx, data_batch)
            idx += 1
            progress.update(1)
        progress.close()
        if isinstance(batches, LoadingTrial):
            self.loading_choice = dict(
                place=batches.place, seconds_per_value=dict(batches.times))
        return self._finish()

    def _batches(self):
        """An iterator of the loader's batches, from where ``loading``
        says."""
        if (self.loading == 'fastest' and self.dataloader.num_workers
                and len(self.dataloader) >= MIN_TRIAL_JOB):
            return LoadingTrial(self.dataloader, TRIAL_BATCHES)
        return iter(self.dataloader)

    def _prepare_writers(self) -> None:
        """Check names and folders before any work, alike on every rank."""
        check_dataset_names(self.dataloader.dataset.dataset)
        cfg = self.runner.cfg
        job = job_fingerprint(cfg, cfg.get('load_from'))
        config_text = cfg.pretty_text  # formatting it takes seconds
        for writer in self.writers:
            writer.set_run_info(config_text, cfg.get('filename'),
                                cfg.get('load_from'))
            writer.set_fingerprint(job)
        fingerprints = all_gather_object(
            [w.fingerprint['fingerprint'] for w in self.writers])
        if any(f != fingerprints[0] for f in fingerprints):
            raise RuntimeError(
                'The ranks computed different fingerprints of this job '
                f'({fingerprints}); do they see the same config, checkpoint '
                'and input folders?')
        # Rank 0 checks (and, with overwrite, clears) the folders; the
        # others wait for its verdict, so no rank writes into a folder
        # before it is cleared or refused.
        verdict = [None]
        if get_rank() == 0:
            try:
                for writer in self.writers:
                    writer.prepare_output_dir(self.overwrite)
            except StaleOutputError as error:
                verdict = [str(error)]
        broadcast_object_list(verdict)
        if verdict[0] is not None:
            raise StaleOutputError(verdict[0])

    def _finish(self) -> dict:
        """Gather the failures, write the manifests, score, report."""
        gathered = all_gather_object(
            (self.failures, self.num_done,
             [sorted(w.damaged) for w in self.writers]))
        failures = [f for rank_failures, _, _ in gathered for f in rank_failures]
        num_done = sum(done for _, done, _ in gathered)
        for k, writer in enumerate(self.writers):
            writer.failures = failures
            writer.damaged = {p for _, _, damaged in gathered
                              for p in damaged[k]}
            writer.status = ('failed' if failures and num_done == 0 else
                             'incomplete' if failures else 'finished')
        if failures and num_done == 0:
            if get_rank() == 0:
                for writer in self.writers:
                    writer.write_manifest([])
            raise AllBatchesFailedError(
                f'All {len(failures)} items of this job failed; nothing was '
                f'predicted or scored. {self._summary(failures)}')
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        if failures:
            summary = (f'{len(failures)} items failed, '
                       f'{num_done} succeeded; metrics cover the latter. '
                       f'{self._summary(failures)}')
            if not self.allow_failures:
                raise ItemsFailedError(
                    summary + ' Fix them and rerun the same command (the '
                    'finished items are kept), or accept the failures with '
                    'allow_failures=True (tools/test.py --allow-failures).')
            self.runner.logger.warning(summary)
        return metrics

    def _summary(self, failures: List[dict]) -> str:
        names = [
            f['item'] or f'(batch {f["batch"]} on rank {f["rank"]}, items '
            'unknown)' for f in failures
        ]
        listed = ', '.join(names[:_LISTED]) + (
            f' and {len(names) - _LISTED} more'
            if len(names) > _LISTED else '')
        first = failures[0]
        return (f'Failed: {listed}. First error ({first["item"]}): '
                f'{first["error"].splitlines()[0]}. Every failure is listed '
                f'in {self._manifests()} and in the log above.')

    def _cached(self, data_samples: Sequence) -> bool:
        return bool(self.writers) and all(
            w.has_output(s) for w in self.writers for s in data_samples)

    def _check_existing(self, samples: Sequence) -> None:
        """Load the existing outputs of a batch that is predicted again for
        its other items: the writers keep files that exist, so one that
        looks whole but does not load must be marked to be written again
        here (it would be kept, damaged, and the job report it as done)."""
        for writer in self.writers:
            for sample in samples:
                if not writer.has_output(sample):
                    continue
                try:
                    writer.load_output(copy.deepcopy(sample))
                except Exception as error:
                    writer.redo(sample, error)

    def _predict(self, data_batch: dict) -> list:
        """The batch's predictions: read back when every writer has them,
        else from the model."""
        samples = _per_image(data_batch['data_samples'])
        if not self._cached(samples):
            self._check_existing(samples)
        else:
            outputs, unreadable = list(samples), False
            for writer in self.writers:
                for i, sample in enumerate(outputs):
                    try:
                        outputs[i] = writer.load_output(sample)
                    except Exception as error:
                        writer.redo(sample, error)
                        unreadable = True
            if not unreadable:
                return outputs
        with autocast(enabled=self.fp16):
            return self.runner.model.test_step(data_batch)

    def _process(self, data_batch: dict, outputs: list) -> None:
        """Feed the evaluators; on an error, take back what they stored."""
        metrics = self.evaluator.metrics
        sizes = [len(m.results) for m in metrics]
        try:
            self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        except Exception:
            for metric, size in zip(metrics, sizes):
                del metric.results[size:]
            raise

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict) -> None:
        """Predict (or read back) one batch and feed the evaluators; if that
        fails, do it item by item."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        try:
            outputs = self._predict(data_batch)
            self._process(data_batch, outputs)
        except Exception as error:
            samples = data_batch['data_samples']
            if self.stop_on_error or len(samples) == 1:
                self._record(idx, samples[0] if len(samples) == 1 else None,
                             error)
                return
            self.runner.logger.warning(
                f'Batch {idx} failed ({type(error).__name__}: {error}); '
                f'retrying its {len(samples)} items one by one.')
            outputs = []
            for item in split_batch(data_batch):
                try:
                    item_outputs = self._predict(item)
                    self._process(item, item_outputs)
                except Exception as item_error:
                    self._record(idx, item['data_samples'][0], item_error)
                else:
                    outputs.extend(item_outputs)
        self.num_done += len(outputs)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)

    def _manifests(self) -> str:
        return ', '.join(w.output_dir + '/manifest.json'
                         for w in self.writers) or '(no writer in this job)'

    def _record(self,
                idx: int,
                item: Any,
                error: Any,
                trace: Optional[str] = None) -> None:
        """Record the failure of ``item`` (a sample, a name, or None when
        unknown) of batch ``idx``: ``error`` is the exception or its text
        (with ``trace``, its traceback). With ``stop_on_error``, write the
        manifests and raise."""
        if item is not None and not isinstance(item, str):
            try:
                item = sample_name(item)
            except Exception:
                item = None
        if isinstance(error, Exception):
            text = f'{type(error).__name__}: {error}'
            trace = traceback.format_exc()
        else:
            text = error
        self.failures.append(
            dict(rank=get_rank(), batch=idx, item=item, error=text))
        if self.stop_on_error:
            # This rank's view: the other ranks cannot be waited for.
            for writer in self.writers:
                writer.failures = self.failures
                writer.status = 'stopped'
                writer.write_manifest(writer.results)
            if isinstance(error, Exception):
                raise error
            raise RuntimeError(f'Item {item} of batch {idx} failed: {text}')
        print_log(
            f'Batch {idx}, item {item or "(unknown)"} failed and is '
            f'skipped: {text}\n{trace or ""}',
            logger='current',
            level=logging.ERROR)
