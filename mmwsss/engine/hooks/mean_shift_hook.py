# Copyright (c) mmwsss contributors. All rights reserved.
"""Estimate IRNet's displacement mean at the end of training."""
from typing import Optional, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from torch.utils.data import DataLoader

from mmwsss.registry import HOOKS


@HOOKS.register_module()
class DisplacementMeanShiftHook(Hook):
    """Call :meth:`mmwsss.IRNet.estimate_mean_shift` after the last epoch.

    As the reference ``train_irn``, once training is over the mean raw
    displacement over ``dataloader`` (top-left 512 crops of the training
    list, batch 32, ``drop_last``) is stored in the model, to be subtracted
    at inference. The hook runs in ``after_train_epoch`` of the last epoch
    (``after_train_iter`` of the last iteration for iteration-based loops)
    with a priority above :class:`CheckpointHook`'s, so the final checkpoint
    holds the estimate. The dataloader is built (and checked to hold a
    batch) in ``before_train``, so that a wrong path or a list shorter than
    one batch stops the run before the first epoch rather than after the
    last.

    Args:
        dataloader (DataLoader | dict): The images to average over, as a
            dataloader or its config.
    """

    priority = 'NORMAL'

    def __init__(self, dataloader: Union[DataLoader, dict]):
        self.dataloader = dataloader

    def before_train(self, runner) -> None:
        """Build the dataloader and check that it yields a batch.

        Raises:
            ValueError: If the dataloader has no batch (fewer images than
                one batch with ``drop_last``).
        """
        if isinstance(self.dataloader, dict):
            self.dataloader = runner.build_dataloader(
                self.dataloader, seed=runner.seed)
        if len(self.dataloader) == 0:
            raise ValueError(
                'DisplacementMeanShiftHook: its dataloader has no batch '
                f'({len(self.dataloader.dataset)} images, batch size '
                f'{self.dataloader.batch_size}, drop_last); the displacement '
                'mean could not be estimated after training.')

    def _estimate(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        mean = model.estimate_mean_shift(self.dataloader)
        runner.logger.info(
            f'IRNet displacement mean: {[round(float(v), 4) for v in mean]}')

    def after_train_epoch(self, runner) -> None:
        """Estimate after the last epoch of an epoch-based loop."""
        if not isinstance(runner.train_loop, IterBasedTrainLoop) \
                and self.is_last_train_epoch(runner):
            self._estimate(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Estimate after the last iteration of an iteration-based loop."""
        if isinstance(runner.train_loop, IterBasedTrainLoop) \
                and self.is_last_train_iter(runner):
            self._estimate(runner)
