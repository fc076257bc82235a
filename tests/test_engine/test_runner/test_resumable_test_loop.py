# Copyright (c) mmwsss contributors. All rights reserved.
import json
import multiprocessing
import os
import os.path as osp
import re
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset, get_worker_info

from mmwsss.engine.runner import (AllBatchesFailedError, ItemsFailedError,
                                  LoadingTrial, split_batch)
from mmwsss.engine.runner import resumable_test_loop as loop_module
from mmwsss.fileio import NameCollisionError
from mmwsss.testing import (make_tiny_cls_dataset, run_tool,
                            write_tiny_mmpretrain_config)


def tiny_dataset(root, per_class=2):
    """The tiny class-folder dataset with unique file names (its
    ``class_<k>/<j>.png`` would share the file stems ``<j>``)."""
    make_tiny_cls_dataset(root, per_class=per_class)
    for folder in sorted(os.listdir(root)):
        for name in os.listdir(osp.join(root, folder)):
            os.rename(
                osp.join(root, folder, name),
                osp.join(root, folder, f'{folder}_{name}'))
    return root


def build_runner(tmp_path,
                 data,
                 batch_size=2,
                 num_workers=0,
                 persistent_workers=False,
                 **loop):
    cfg = Config.fromfile(
        write_tiny_mmpretrain_config(str(tmp_path / 'cfg.py'), data))
    cfg.custom_imports = dict(imports=['mmwsss'])
    cfg.test_cfg = dict(type='mmwsss.ResumableTestLoop', **loop)
    cfg.test_dataloader.batch_size = batch_size
    cfg.test_dataloader.num_workers = num_workers
    cfg.test_dataloader.persistent_workers = persistent_workers
    cfg.test_evaluator = [
        dict(type='mmwsss.CAMWriter', output_dir=str(tmp_path / 'cams')),
        dict(type='Accuracy', topk=(1, ))
    ]
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = tmp_path.name
    return Runner.from_cfg(cfg)


@pytest.fixture
def runner(tmp_path):
    return build_runner(tmp_path, tiny_dataset(str(tmp_path / 'data')))


def _fail_batches(runner, failing):
    predict = runner.model.test_step
    calls = iter(range(100))

    def test_step(data):
        if next(calls) in failing:
            raise RuntimeError('boom on this batch')
        return predict(data)

    runner.model.test_step = test_step


def test_every_batch_failed_is_said_plainly(runner, tmp_path):
    _fail_batches(runner, failing=range(100))
    with pytest.raises(AllBatchesFailedError) as error:
        runner.test()
    message = str(error.value)
    manifest = osp.join(str(tmp_path / 'cams'), 'manifest.json')
    # each batch is retried item by item: every item fails on its own
    assert 'All 4 items of this job failed' in message
    assert 'RuntimeError: boom on this batch' in message
    assert 'class_0_0' in message and manifest in message
    content = json.load(open(manifest))
    assert content['status'] == 'failed'
    assert [f['batch'] for f in content['failures']] == [0, 0, 1, 1]


def _plain_classification(runner):
    # the CAM writer has nothing to write for plain classification outputs
    runner.test_evaluator.metrics.pop(0)
    runner.test_loop.writers = []


def test_failed_items_fail_the_job_after_scoring(runner):
    _plain_classification(runner)
    runner.model.test_step = _failing_on(runner, 'class_1_1')
    with pytest.raises(ItemsFailedError) as error:
        runner.test()
    message = str(error.value)
    assert '1 items failed, 3 succeeded' in message
    assert 'Failed: class_1_1.' in message and '--allow-failures' in message
    log = open(runner.logger.log_file).read()
    assert 'accuracy/top1' in log  # scored and logged before the error


def _failing_on(runner, name):
    """A test_step that fails every batch holding the image ``name``."""
    predict = runner.model.test_step

    def test_step(data):
        if any(name in s.img_path for s in data['data_samples']):
            raise RuntimeError(f'boom on {name}')
        return predict(data)

    return test_step


def test_a_bad_item_fails_alone_and_allowed_failures_warn(tmp_path):
    runner = build_runner(
        tmp_path,
        tiny_dataset(str(tmp_path / 'data')),
        batch_size=4,
        allow_failures=True)
    _plain_classification(runner)
    runner.model.test_step = _failing_on(runner, 'class_0_1')
    seen = []
    accuracy = runner.test_evaluator.metrics[0]
    process = accuracy.process
    accuracy.process = lambda batch, samples: (seen.extend(
        s['img_path'] for s in samples), process(batch, samples))
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
    # the three good items of the failed batch of 4 were scored once each
    assert sorted(osp.basename(p) for p in seen) == [
        'class_0_0.png', 'class_1_0.png', 'class_1_1.png'
    ]
    log = open(runner.logger.log_file).read()
    assert 'retrying its 4 items one by one' in log
    assert '1 items failed, 3 succeeded' in log


def test_two_images_on_one_file_are_refused_before_any_work(tmp_path):
    # class_0/0.png and class_1/0.png: no img_id, the same stem '0'
    data = make_tiny_cls_dataset(str(tmp_path / 'data'), per_class=2)
    runner = build_runner(tmp_path, data)
    with pytest.raises(NameCollisionError) as error:
        runner.test()
    message = str(error.value)
    assert osp.join('class_0', '0.png') in message
    assert osp.join('class_1', '0.png') in message
    assert "file stem '0'" in message and 'CustomDataset' in message
    assert not osp.exists(tmp_path / 'cams')


def test_split_batch_keeps_lists_and_stacked_tensors():
    batch = dict(
        inputs=torch.arange(6).reshape(3, 2),
        data_samples=['a', 'b', 'c'],
        extra=dict(scale=[1, 2, 3], fixed=7))
    items = split_batch(batch)
    assert [i['data_samples'] for i in items] == [['a'], ['b'], ['c']]
    assert torch.equal(items[1]['inputs'], torch.tensor([[2, 3]]))
    assert items[2]['extra'] == dict(scale=[3], fixed=7)


@pytest.mark.slow
def test_tools_test_exits_1_with_the_message(tmp_path):
    """tools/test.py: a job whose every batch fails (plain classification
    outputs have no CAMs for the CAM writer) exits 1 and says why."""
    data = tiny_dataset(str(tmp_path / 'data'))
    config = write_tiny_mmpretrain_config(str(tmp_path / 'cfg.py'), data)
    with open(config, 'a') as f:
        f.write("custom_imports = dict(imports=['mmwsss'])\n"
                "test_cfg = dict(type='mmwsss.ResumableTestLoop')\n"
                f"test_evaluator = [dict(type='mmwsss.CAMWriter', "
                f"output_dir='{tmp_path / 'cams'}')]\n")
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    proc = run_tool([
        'tools/test.py', config, checkpoint, '--work-dir',
        str(tmp_path / 'work')
    ])
    assert proc.returncode == 1
    output = proc.stdout + proc.stderr
    assert 'All 4 items of this job failed' in output
    assert "KeyError: 'cam_keys'" in output
    assert osp.isfile(tmp_path / 'cams' / 'manifest.json')


class _PlaceDataset(Dataset):
    """Items ``(index, loaded in a worker)``; loading sleeps ``delay`` s in
    ``slow_place`` and fails for the indices in ``failing``."""

    def __init__(self, size, slow_place, delay=0.05, failing=()):
        self.size = size
        self.slow_place = slow_place
        self.delay = delay
        self.failing = set(failing)

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        in_worker = get_worker_info() is not None
        if in_worker == (self.slow_place == 'workers'):
            time.sleep(self.delay)
        if index in self.failing:
            raise ValueError(f'bad item {index}')
        return index, in_worker


def _trial(slow_place, failing=()):
    loader = DataLoader(
        _PlaceDataset(24, slow_place, failing=failing),
        batch_size=1,
        num_workers=2,
        collate_fn=lambda items: items[0])
    trial = LoadingTrial(loader, trial=3)
    items, errors = [], []
    while True:
        try:
            items.append(next(trial))
        except StopIteration:
            break
        except ValueError as error:  # a worker's error names the worker
            errors.append(re.search(r'bad item \d+', str(error)).group())
    return trial, items, errors


@pytest.mark.parametrize('slow_place', ['main', 'workers'])
def test_loading_trial_keeps_the_faster_place(slow_place):
    trial, items, errors = _trial(slow_place)
    # every batch once, in order, whatever the place
    assert [index for index, _ in items] == list(range(24))
    assert not errors
    assert set(trial.times) == {'main', 'workers'}
    places = [in_worker for _, in_worker in items]
    # 3 in the main process (warm-up), 2 x 2 prefetched + 3 in the 2
    # workers, 3 in the main process, the rest where the timed batches went
    # faster
    assert places[:3] == [False] * 3 and places[3:10] == [True] * 7
    assert places[10:13] == [False] * 3
    assert places[13:] == [slow_place == 'main'] * 11
    assert trial.place == ('workers' if slow_place == 'main' else 'main')


class _SizedDataset(Dataset):
    """Tensors of 400 values for the workers' trial batches (indices 3-9
    of a trial of 3 with 2 workers), else of 100; loading in the main
    process takes 10 ms."""

    def __len__(self):
        return 24

    def __getitem__(self, index):
        if get_worker_info() is None:
            time.sleep(0.01)
        return torch.zeros(400 if 3 <= index < 10 else 100)


def test_loading_trial_compares_time_per_input_value():
    loader = DataLoader(_SizedDataset(), batch_size=1, num_workers=2)
    trial = LoadingTrial(loader, trial=3)
    for batch in trial:
        time.sleep(2e-4 * batch.numel())  # the work grows with the input
    # per batch the workers' trial took longer (80 ms against 10 + 20 ms),
    # per input value less (0.2 ms against 0.3 ms)
    assert trial.times['workers'] < trial.times['main']
    assert trial.place == 'workers'


def test_loading_trial_goes_on_after_a_failed_batch():
    # failures in the main-process trial, the worker trial and the rest
    trial, items, errors = _trial('workers', failing=(2, 5, 11, 20))
    assert [index for index, _ in items] == [
        i for i in range(24) if i not in (2, 5, 11, 20)]
    assert errors == [f'bad item {i}' for i in (2, 5, 11, 20)]


class _KeepsWorkers(LoadingTrial):
    """A trial that finds the workers faster: the case where a loop that
    held on to its trial would keep persistent workers alive."""

    def _choose(self):
        self.times = dict(main=2e-6, workers=1e-6)
        super()._choose()


def test_fastest_loading_predicts_as_the_workers_do(tmp_path, monkeypatch):
    monkeypatch.setattr(loop_module, 'TRIAL_BATCHES', 2)
    monkeypatch.setattr(loop_module, 'MIN_TRIAL_JOB', 8)
    monkeypatch.setattr(loop_module, 'LoadingTrial', _KeepsWorkers)
    data = tiny_dataset(str(tmp_path / 'data'), per_class=6)
    results, weights = {}, None
    for loading in ('workers', 'fastest'):
        (tmp_path / loading).mkdir()
        # persistent, as most configs' loaders: they live as long as their
        # loader object
        runner = build_runner(
            tmp_path / loading, data, batch_size=1, num_workers=2,
            persistent_workers=True, loading=loading)
        _plain_classification(runner)
        weights = weights or runner.model.state_dict()
        runner.model.load_state_dict(weights)
        scores = {}
        accuracy = runner.test_evaluator.metrics[0]
        process = accuracy.process
        accuracy.process = lambda batch, samples: (scores.update(
            (s['img_path'], s['pred_score']) for s in samples),
                                                   process(batch, samples))
        before = set(multiprocessing.active_children())
        results[loading] = runner.test(), scores
        choice = runner.test_loop.loading_choice
        if loading == 'fastest':
            assert choice == dict(
                place='workers',
                seconds_per_value=dict(main=2e-6, workers=1e-6))
            # the trial's loaders, and so their workers, end with the job
            assert set(multiprocessing.active_children()) <= before
        else:
            assert choice is None
    (metrics, scores), (trial_metrics, trial_scores) = results.values()
    assert trial_metrics == metrics and len(scores) == 12
    assert scores.keys() == trial_scores.keys()
    for name, score in scores.items():
        torch.testing.assert_close(trial_scores[name], score, rtol=0, atol=0)
    log = open(runner.logger.log_file).read()
    assert 'Test time per million input values with the batches loaded' in log
    (tmp_path / 'bad').mkdir()
    with pytest.raises(ValueError, match='loading must be one of'):
        build_runner(tmp_path / 'bad', data, loading='main').test()
