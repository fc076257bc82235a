# Copyright (c) mmwsss contributors. All rights reserved.
"""Host work (dense CRFs) spread over forked worker processes."""
import multiprocessing
from typing import Callable, Iterable, List, Optional, TypeVar

import torch

Item = TypeVar('Item')
Result = TypeVar('Result')

# The function of the running fork_map: forked workers inherit it, so it
# need not be picklable (a closure over an image, a partial of a lambda).
_task: Optional[Callable] = None


def _single_threaded_worker() -> None:
    """Initializer of the forked workers: one torch thread.

    A forked child inherits the parent's OpenMP state but not its thread
    pool; its first parallel torch op (e.g. the ``amax`` of PSA's scores on
    a VOC-sized image) then waits forever for threads that do not exist.
    With one thread torch runs its ops inline, and the workers do not
    compete with each other for the cores either.
    """
    torch.set_num_threads(1)


def _run_task(item):
    return _task(item)


def fork_map(func: Callable[[Item], Result], items: Iterable[Item],
             workers: int) -> List[Result]:
    """``[func(item) for item in items]``, in up to ``workers`` forked
    processes of one torch thread each.

    With fewer than two workers or items it runs in this process (one
    worker would only add a fork while this process waits). The items and
    results are pickled; ``func`` is not. Needs the ``fork`` start method
    (Linux, macOS).

    Args:
        func (Callable): Applied to each item.
        items (Iterable): The items.
        workers (int): The most worker processes.

    Returns:
        list: The results, in the order of ``items``.
    """
    global _task
    items = list(items)
    workers = min(workers, len(items))
    if workers < 2:
        return [func(item) for item in items]
    if _task is not None:
        raise RuntimeError('fork_map does not nest')
    _task = func
    try:
        with multiprocessing.get_context('fork').Pool(
                workers, initializer=_single_threaded_worker) as pool:
            return pool.map(_run_task, items)
    finally:
        _task = None
