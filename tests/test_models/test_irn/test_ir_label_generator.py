# Copyright (c) mmwsss contributors. All rights reserved.
import subprocess
import sys
import textwrap

import pytest

# The label workers are forked from a process whose torch already ran
# parallel ops on two threads, on VOC-sized CAMs (large enough for torch's
# reductions to go parallel), as in a tools/test.py run of the label stage.
_FORKED_WORKERS = textwrap.dedent("""
    import numpy as np
    import torch
    from mmpretrain.structures import DataSample

    import mmwsss.models  # noqa: F401
    from mmwsss.registry import MODELS

    torch.set_num_threads(2)
    torch.rand(1000, 1000).amax(0)
    rng = np.random.default_rng(0)
    inputs, samples = [], []
    for name in 'ab':
        inputs.append(torch.from_numpy(
            rng.integers(0, 255, (3, 375, 500)).astype(np.uint8)))
        sample = DataSample(metainfo=dict(
            img_id=name, img_shape=(375, 500), ori_shape=(375, 500)))
        sample.set_field(torch.rand(3, 375, 500), 'cam_high_res')
        sample.set_field(torch.tensor([1, 2, 3]), 'cam_keys')
        samples.append(sample)
    model = MODELS.build(
        dict(type='mmwsss.{model}', crf=False, num_workers=2))
    out = model.test_step(dict(inputs=inputs, data_samples=samples))
    print('labels', *out[0].pred_sem_seg.data.shape)
""")


@pytest.mark.parametrize('model', ['PSALabelGenerator', 'IRLabelGenerator'])
def test_forked_label_workers_after_parallel_ops(model):
    # Without one thread per worker the forked children waited forever for
    # the parent's OpenMP threads (PSA labels of SynthVOC and VOC images).
    try:
        result = subprocess.run(
            [sys.executable, '-c',
             _FORKED_WORKERS.format(model=model)],
            capture_output=True,
            text=True,
            timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f'the forked workers of {model} hung')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'labels 1 375 500' in result.stdout
