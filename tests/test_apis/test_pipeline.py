# Copyright (c) mmwsss contributors. All rights reserved.
"""Pipelines (mmwsss.apis): stage specs, commands, and the runner's skip,
rerun, resume and kill behaviour on a repository of small stand-in tools
(a few milliseconds per stage; the real tools are exercised by
tests/test_tools/test_run_pipeline.py)."""
import fcntl
import io
import json
import os
import os.path as osp
import random
import signal
import time
import traceback

import pytest

from mmwsss.apis import (Launcher, PipelineError, PipelineRunner, Stage,
                         load_pipeline, parse_stages, select_stages,
                         stage_command)

# Stand-ins for tools/train.py and tools/test.py with their command lines.
# Their outputs depend on file contents, never on paths, like the real
# tools' (so that two work dirs can be compared byte for byte); SLEEP
# stretches them so that a kill lands inside a stage.
FAKE_TOOL_HEAD = '''
import argparse, hashlib, json, os, sys, time
SLEEP = float(os.environ.get('FAKE_SLEEP', '0'))


def content(path):
    if os.path.isdir(path):
        return ''.join(content(os.path.join(path, n))
                       for n in sorted(os.listdir(path)))
    with open(path) as f:
        return f.readline()


def digest(*parts):
    return hashlib.sha256(''.join(map(str, parts)).encode()).hexdigest()


def options(pairs):
    opts = dict(pair.split('=', 1) for pair in pairs)
    return {k: content(v) if os.path.exists(v) else v
            for k, v in opts.items()}, opts


def log_dir(work_dir):
    stamp = time.strftime('%Y%m%d_%H%M%S') + str(time.time_ns())
    path = os.path.join(work_dir, stamp)
    os.makedirs(os.path.join(path, 'vis_data'))
    return stamp, path


parser = argparse.ArgumentParser()
parser.add_argument('config')
parser.add_argument('--work-dir')
parser.add_argument('--cfg-options', nargs='+', default=[])
parser.add_argument('--launcher', default='none')
'''

FAKE_TRAIN = FAKE_TOOL_HEAD + '''
args = parser.parse_args()
values, _ = options(args.cfg_options)
time.sleep(SLEEP * 4)
weights = digest(open(args.config).read(), sorted(values.items()))
ckpt = os.path.join(args.work_dir, 'epoch_1.pth')
with open(ckpt, 'w') as f:  # the second line differs from run to run
    f.write(weights + '\\n' + str(time.time()) + '\\n')
with open(os.path.join(args.work_dir, 'last_checkpoint'), 'w') as f:
    f.write(ckpt)
_, logs = log_dir(args.work_dir)
with open(os.path.join(logs, 'vis_data', 'scalars.json'), 'w') as f:
    f.write(json.dumps(dict(acc=0.25, step=1)) + '\\n')
    f.write(json.dumps(dict(acc=int(weights[:2], 16) / 255, step=2)) + '\\n')
'''

FAKE_TEST = FAKE_TOOL_HEAD + '''
parser.add_argument('checkpoint')
parser.add_argument('--overwrite', action='store_true')
args = parser.parse_args()
values, opts = options(args.cfg_options)
weights = content(args.checkpoint)
out = opts['out']
os.makedirs(out, exist_ok=True)
fail_after = int(os.environ.get('FAKE_FAIL_AFTER', '-1'))
for i in range(int(opts.get('n', 4))):
    if i == fail_after:
        sys.exit('stand-in failure')
    path = os.path.join(out, f'item_{i}.txt')
    if os.path.exists(path):  # resumes like the writers
        continue
    time.sleep(SLEEP)
    with open(path + '.x.tmp', 'w') as f:
        f.write(digest(weights, open(args.config).read(), i) + '\\n')
    os.replace(path + '.x.tmp', path)
stamp, logs = log_dir(args.work_dir)
with open(os.path.join(logs, stamp + '.json'), 'w') as f:
    f.write(json.dumps(dict(score=len(os.listdir(out)))) + '\\n')
'''

# A data generator: refuses an existing output folder, as SynthVOC's does.
FAKE_GENERATE = '''
import argparse, json, os, time
parser = argparse.ArgumentParser()
parser.add_argument('out')
parser.add_argument('--num', type=int)
parser.add_argument('--report')
args = parser.parse_args()
os.makedirs(args.out)
for i in range(args.num):
    time.sleep(float(os.environ.get('FAKE_SLEEP', '0')))
    with open(os.path.join(args.out, f'{i}.txt'), 'w') as f:
        f.write(f'sample {i}\\n')
with open(args.report, 'w') as f:
    json.dump(dict(count=args.num, nested=dict(value=1.5)), f)
'''

# data -> model -> preds -> final, and model -> side.
STAGES = dict(
    data=dict(
        kind='script',
        script='tools/generate.py',
        args=['{data.files}'],
        options=dict(num=3, report='{data.report}'),
        outputs=dict(files='files', report='report.json'),
        metrics=dict(count='report:count', value='report:nested.value')),
    model=dict(
        kind='train',
        config='configs/model.py',
        cfg_options={'data': '{data.files}'},
        metrics=dict(acc='acc')),
    preds=dict(
        kind='test',
        config='configs/preds.py',
        checkpoint='{model.checkpoint}',
        outputs=dict(items='items'),
        cfg_options={
            'out': '{preds.items}',
            'n': 4
        },
        metrics=dict(score='score')),
    final=dict(
        kind='train',
        config='configs/model.py',
        cfg_options=dict(data='{preds.items}')),
    side=dict(
        kind='test',
        config='configs/preds.py',
        checkpoint='{model.checkpoint}',
        outputs=dict(items='side_items'),
        cfg_options=dict(out='{side.items}')),
)


@pytest.fixture
def repo(tmp_path):
    """A repository with the stand-in tools and two configs."""
    root = tmp_path / 'repo'
    for path, text in (('tools/train.py', FAKE_TRAIN),
                       ('tools/test.py', FAKE_TEST),
                       ('tools/generate.py', FAKE_GENERATE),
                       ('configs/model.py', 'depth = 2\n'),
                       ('configs/preds.py', 'scale = 1\n')):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return str(root)


def make_runner(repo, work_dir, stages=None, **kwargs):
    # The stand-ins start in milliseconds as new processes: a stage server
    # (seconds of imports) is tried by its own test below.
    kwargs.setdefault('preload', False)
    kwargs.setdefault('stream', open(os.devnull, 'w'))
    stages = parse_stages(stages or STAGES)
    return PipelineRunner(stages, work_dir, repo, **kwargs)


def statuses(summary):
    return {name: s['status'] for name, s in summary['stages'].items()}


def outputs_content(summary):
    """Every output file's bytes (a checkpoint: its weights line) by stage,
    output and relative file name."""
    found = {}
    for name, stage in summary['stages'].items():
        for output, path in stage['outputs'].items():
            files = [''] if osp.isfile(path) else sorted(os.listdir(path))
            for file in files:
                with open(osp.join(path, file) if file else path, 'rb') as f:
                    data = f.read()
                if output == 'checkpoint':
                    data = data.splitlines()[0]
                found[(name, output, file)] = data
    return found


def test_parse_stages_checks_the_spec():
    stages = parse_stages(STAGES)
    assert [s.name for s in stages] == list(STAGES)
    assert stages[1].output_names == ['checkpoint']
    assert stages[2].inputs() == [('model', 'checkpoint')]
    bad_specs = [
        dict(a=dict(kind='eval', config='c.py')),
        dict(a=dict(kind='train')),
        dict(a=dict(kind='test', config='c.py')),
        dict(a=dict(kind='script', script='s.py', outputs=dict(x='../x'))),
        dict(a=dict(kind='script', script='s.py', outputs=dict(x='/x'))),
        dict(a=dict(kind='script', script='s.py', colour='red')),
        dict(a=dict(kind='train', config='c', outputs=dict(checkpoint='x'))),
        # a later stage, an unknown output, an undeclared own output
        dict(
            a=dict(kind='train', config='c.py', cfg_options=dict(x='{b.y}')),
            b=dict(kind='script', script='s.py', outputs=dict(y='y'))),
        dict(
            a=dict(kind='train', config='c.py'),
            b=dict(kind='script', script='s.py', args=['{a.cams}'])),
        dict(a=dict(kind='script', script='s.py', args=['{a.out}'])),
    ]
    for spec in bad_specs:
        with pytest.raises(PipelineError):
            parse_stages(spec)


def test_commands_of_each_kind_and_launcher():
    stage = Stage(
        name='preds',
        kind='test',
        config='c.py',
        checkpoint='/w/model/epoch_1.pth',
        args=['--tta'],
        options=dict(out='/w/p.pkl', show=False),
        cfg_options={
            'a.b': [1, 2],
            'c': dict(d=(3, 4), e='x')
        })
    tail = [
        'c.py', '/w/model/epoch_1.pth', '--work-dir', '/w/preds', '--tta',
        '--out', '/w/p.pkl', '--cfg-options', 'a.b=[1,2]', 'c.d=(3,4)', 'c.e=x'
    ]
    assert stage_command(stage, '/w/preds', Launcher(), 'py') == [
        'py', 'tools/test.py', *tail
    ]
    command = stage_command(stage, '/w/preds', Launcher('pytorch', gpus=2),
                            'py')
    assert command[:5] == [
        'py', '-m', 'torch.distributed.run', '--nproc_per_node', '2'
    ]
    assert command[5] == '--master_port' and int(command[6]) > 0
    assert command[7:] == ['tools/test.py', *tail, '--launcher', 'pytorch']
    slurm = Launcher('slurm', gpus=16, partition='gpu', srun_args=['-x', 'n1'])
    assert stage_command(stage, '/w/preds', slurm, 'py') == [
        'srun', '-p', 'gpu', '--job-name=preds', '--gres=gpu:8',
        '--ntasks=16', '--ntasks-per-node=8', '--cpus-per-task=5',
        '--kill-on-bad-exit=1', '-x', 'n1', 'py', '-u', 'tools/test.py',
        *tail, '--launcher', 'slurm'
    ]
    script = Stage(
        name='gen', kind='script', script='tools/g.py', args=['/w/out'],
        options=dict(emblem_parts=[2, 3], flag=True))
    # scripts run as one plain process whatever the launcher
    assert stage_command(script, '/w/gen', Launcher('pytorch', gpus=2),
                         'py') == [
                             'py', 'tools/g.py', '/w/out', '--emblem-parts',
                             '2', '3', '--flag'
                         ]
    with pytest.raises(PipelineError):
        Launcher('none', gpus=2)
    with pytest.raises(PipelineError):
        Launcher('slurm')


def test_pipeline_config_overrides_reach_the_commands(tmp_path):
    config = tmp_path / 'pipeline.py'
    config.write_text(
        'stages = dict(cam=dict(kind="train", config="c.py", '
        'cfg_options={"train_dataloader.batch_size": 16}))\n')
    _, stages = load_pipeline(
        str(config), {
            'stages.cam.cfg_options.train_cfg.max_epochs': 1,
            'stages.cam.cfg_options.train_dataloader.batch_size': 2
        })
    command = stage_command(stages[0], '/w/cam', Launcher(), 'py')
    assert command[command.index('--cfg-options') + 1:] == [
        'train_dataloader.batch_size=2', 'train_cfg.max_epochs=1'
    ]


def test_select_stages():
    stages = parse_stages(STAGES)
    assert select_stages(stages) == list(STAGES)
    assert select_stages(stages, names=['side', 'model']) == ['model', 'side']
    assert select_stages(stages, start='preds') == ['preds', 'final', 'side']
    with pytest.raises(PipelineError):
        select_stages(stages, start='nope')


def test_runs_wired_by_name_then_skips_everything(repo, tmp_path):
    work = str(tmp_path / 'work')
    summary = make_runner(repo, work).run()
    assert set(statuses(summary).values()) == {'ran'}
    stages = summary['stages']
    assert stages['data']['metrics'] == dict(count=3, value=1.5)
    assert stages['preds']['metrics'] == dict(score=4)
    assert 0 <= stages['model']['metrics']['acc'] <= 1
    assert stages['model']['outputs']['checkpoint'] == osp.join(
        work, 'model', 'epoch_1.pth')
    assert sorted(os.listdir(stages['preds']['outputs']['items'])) == [
        f'item_{i}.txt' for i in range(4)
    ]
    # the test tool got the model's checkpoint, by name
    record = json.load(open(osp.join(work, 'preds', 'stage.json')))
    assert record['command'][3] == osp.join(work, 'model', 'epoch_1.pth')
    assert json.load(open(osp.join(work, 'summary.json'))) == summary

    before = {
        name: os.stat(osp.join(work, name, 'stage.json')).st_mtime_ns
        for name in STAGES
    }
    again = make_runner(repo, work).run()
    assert set(statuses(again).values()) == {'skipped'}
    assert again['stages'] == {
        name: dict(stage, status='skipped')
        for name, stage in summary['stages'].items()
    }
    assert before == {
        name: os.stat(osp.join(work, name, 'stage.json')).st_mtime_ns
        for name in STAGES
    }


def test_a_changed_stage_reruns_with_its_descendants(repo, tmp_path):
    work = str(tmp_path / 'work')
    first = outputs_content(make_runner(repo, work).run())
    changed = dict(STAGES, preds=dict(STAGES['preds'], config='configs/x.py'))
    with open(osp.join(repo, 'configs/x.py'), 'w') as f:
        f.write('scale = 2\n')
    summary = make_runner(repo, work, changed).run()
    assert statuses(summary) == dict(
        data='skipped', model='skipped', preds='ran', final='ran',
        side='skipped')
    assert (outputs_content(summary)[('preds', 'items', 'item_0.txt')] !=
            first[('preds', 'items', 'item_0.txt')])

    # a config file's content counts, not its name
    with open(osp.join(repo, 'configs/model.py'), 'a') as f:
        f.write('width = 3\n')
    summary = make_runner(repo, work, changed).run()
    assert statuses(summary) == dict(
        data='skipped', model='ran', preds='ran', final='ran', side='ran')


def test_upstream_rerun_with_identical_outputs_keeps_consumers(
        repo, tmp_path):
    """Consumers depend on the content of what they consume: a forced rerun
    of the data stage writes the same files, so nothing after it reruns."""
    work = str(tmp_path / 'work')
    make_runner(repo, work).run()
    summary = make_runner(repo, work).run(selected=['data'], force=True)
    assert statuses(summary)['data'] == 'ran'
    summary = make_runner(repo, work).run()
    assert set(statuses(summary).values()) == {'skipped'}


def test_outputs_changed_on_disk_rerun_the_stage(repo, tmp_path):
    work = str(tmp_path / 'work')
    summary = make_runner(repo, work).run()
    os.remove(osp.join(summary['stages']['side']['outputs']['items'],
                       'item_1.txt'))
    assert statuses(make_runner(repo, work).run()) == dict(
        data='skipped', model='skipped', preds='skipped', final='skipped',
        side='ran')


def test_stage_selection(repo, tmp_path):
    work = str(tmp_path / 'work')
    with pytest.raises(PipelineError, match='no finished run'):
        make_runner(repo, work).run(selected=['preds'])
    summary = make_runner(repo, work).run(selected=['data', 'model'])
    assert statuses(summary) == dict(
        data='ran', model='ran', preds='not selected',
        final='not selected', side='not selected')
    assert 'outputs' not in summary['stages']['preds']
    start_at_final = select_stages(parse_stages(STAGES), start='final')
    with pytest.raises(PipelineError, match='preds.items'):
        make_runner(repo, work).run(selected=start_at_final)
    make_runner(repo, work).run(selected=['preds'])
    summary = make_runner(repo, work).run(selected=start_at_final)
    assert statuses(summary) == dict(
        data='not selected', model='not selected', preds='not selected',
        final='ran', side='ran')
    assert summary['stages']['preds']['metrics'] == dict(score=4)
    # --force reruns a selected stage that is up to date
    summary = make_runner(repo, work).run(selected=['side'], force=True)
    assert statuses(summary)['side'] == 'ran'


def test_failed_test_stage_resumes_its_items(repo, tmp_path):
    work = str(tmp_path / 'work')
    with pytest.raises(PipelineError, match='stand-in failure'):
        make_runner(repo, work, env=dict(FAKE_FAIL_AFTER='2')).run()
    items = osp.join(work, 'preds', 'items')
    assert sorted(os.listdir(items)) == ['item_0.txt', 'item_1.txt']
    assert not osp.exists(osp.join(work, 'preds', 'stage.json'))
    kept = os.stat(osp.join(items, 'item_0.txt')).st_mtime_ns
    summary = make_runner(repo, work).run()
    assert statuses(summary) == dict(
        data='skipped', model='skipped', preds='ran', final='ran', side='ran')
    assert os.stat(osp.join(items, 'item_0.txt')).st_mtime_ns == kept
    # a fresh test stage tells tools/test.py to replace earlier outputs
    # (this stand-in has --overwrite), a resumed one does not
    command = json.load(open(osp.join(work, 'preds', 'stage.json')))['command']
    assert '--overwrite' not in command
    command = json.load(open(osp.join(work, 'side', 'stage.json')))['command']
    assert command[-1] == '--overwrite'


def test_evaluation_only_test_stage_gets_no_overwrite(repo, tmp_path):
    """--overwrite clears writers' folders; tools/test.py refuses it for a
    config without ResumableTestLoop, e.g. DeepLab's val test."""
    stages = dict(
        {name: STAGES[name] for name in ('data', 'model')},
        score=dict(
            kind='test',
            config='configs/preds.py',
            checkpoint='{model.checkpoint}',
            cfg_options=dict(out=str(tmp_path / 'elsewhere')),
            metrics=dict(score='score')))
    work = str(tmp_path / 'work')
    summary = make_runner(repo, work, stages).run()
    assert summary['stages']['score']['metrics'] == dict(score=4)
    command = json.load(open(osp.join(work, 'score', 'stage.json')))['command']
    assert '--overwrite' not in command


def _run_killed(runner, delay):
    """Run ``runner`` in a forked process group and SIGKILL the group
    (the runner and the tool it is running) after ``delay`` seconds;
    whether it finished (an exception in it is an error)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 1
        try:
            os.setpgid(0, 0)
            runner.run()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    try:
        os.setpgid(pid, pid)
    except OSError:  # the child got there first, or is gone
        pass
    deadline = time.time() + delay
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:  # finished, or killed by someone else: an interruption too
            code = os.waitstatus_to_exitcode(status)
            assert code <= 0, 'the runner failed (traceback above)'
            return code == 0
        time.sleep(0.01)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    return False


def test_killed_pipeline_finishes_with_identical_outputs(repo, tmp_path):
    env = dict(FAKE_SLEEP='0.02')
    start = time.time()
    reference = make_runner(repo, str(tmp_path / 'reference'), env=env).run()
    duration = time.time() - start
    rng = random.Random(0)
    kills = 0
    for attempt in range(3):
        work = str(tmp_path / f'killed{attempt}')
        # the same command again after each kill, until it finishes
        while not _run_killed(
                make_runner(repo, work, env=env), rng.uniform(0, duration)):
            kills += 1
        summary = make_runner(repo, work).run()
        assert set(statuses(summary).values()) == {'skipped'}
        assert outputs_content(summary) == outputs_content(reference)
    assert kills >= 3


def test_stage_server_runs_the_tools_as_new_processes_do(repo, tmp_path):
    """The same outputs, and a failing tool's exit code and last lines,
    with the tools started by a stage server."""
    reference = make_runner(repo, str(tmp_path / 'reference')).run()
    work = str(tmp_path / 'served')
    with pytest.raises(PipelineError,
                       match=r'exit code 1\)(.|\n)*stand-in failure'):
        make_runner(
            repo, work, env=dict(FAKE_FAIL_AFTER='2'), preload=True).run()
    summary = make_runner(repo, work, preload=True).run()
    assert statuses(summary)['preds'] == 'ran'
    assert outputs_content(summary) == outputs_content(reference)
    assert osp.isfile(osp.join(work, 'stage_server.log'))


def test_stages_go_on_as_new_processes_when_the_server_fails(
        repo, tmp_path, monkeypatch):
    from mmwsss.apis.stage_server import StageServer

    def refuse(*args, **kwargs):
        raise OSError('message too long')

    monkeypatch.setattr(StageServer, 'popen', refuse)
    reference = make_runner(repo, str(tmp_path / 'reference')).run()
    stream = io.StringIO()
    summary = make_runner(
        repo, str(tmp_path / 'work'), preload=True, stream=stream).run()
    assert outputs_content(summary) == outputs_content(reference)
    assert 'the stage server failed (message too long)' in stream.getvalue()


def test_no_stage_server_for_stages_that_see_a_gpu(repo, tmp_path,
                                                   monkeypatch):
    """A forked child cannot use CUDA once its parent started it."""
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    runner = make_runner(repo, str(tmp_path / 'work'), preload=True)
    env = {k: v for k, v in os.environ.items() if k != 'CUDA_VISIBLE_DEVICES'}
    assert runner._stage_server(env) is None
    assert runner._server is None


def test_one_run_per_work_dir(repo, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    with open(work / '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(PipelineError, match='another pipeline run'):
            make_runner(repo, str(work)).run()
    assert statuses(make_runner(repo, str(work)).run(selected=['data'])
                    )['data'] == 'ran'
