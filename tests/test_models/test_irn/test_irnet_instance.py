# Copyright (c) mmwsss contributors. All rights reserved.
import importlib

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.evaluation import InstancePseudoMaskWriter
from mmwsss.fileio import write_cam_file
from mmwsss.functional import instance_labels
from mmwsss.models.irn import IRNetInstanceWalk
from mmwsss.registry import METRICS, MODELS
from mmwsss.testing.cam_samples import cam_loaded_sample

init_default_scope('mmpretrain')

TINY = dict(
    type='mmwsss.IRNetInstanceWalk',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        base_channels=8,
        strides=(1, 2, 2, 1),
        out_indices=(0, 1, 2, 3)),
    in_channels=(64, 8, 16, 32, 64),
    test_pad_size=64,
    exp_times=3,
    centroid_iterations=50)
HEIGHT, WIDTH = 30, 41  # stride-4 grid (8, 11)


def _model(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(TINY, **kwargs)).eval()


def _predict(model, img, keys=None, strided=None):
    """Predict with the CAMs ``keys``/``strided`` on the data sample, as
    LoadCAMFile and PackCAMInputs put them there (none when not given)."""
    sample = DataSample(
        metainfo=dict(
            img_id='im', img_shape=img.shape[1:], ori_shape=img.shape[1:]))
    if keys is not None:
        sample.cam_keys = torch.as_tensor(keys, dtype=torch.int64)
        sample.cam_strided = torch.from_numpy(strided)
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    return model(**data, mode='predict')[0]


def _predict_from_file(model, img, cam_dir):
    """Predict with the CAMs of ``cam_dir`` loaded by the pipeline."""
    sample = cam_loaded_sample(cam_dir, 'im', ('keys', 'strided'), img)
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    return model(**data, mode='predict')[0]


def _image():
    return torch.randint(
        0,
        255, (3, HEIGHT, WIDTH),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(1))


def _save_cams(cam_dir, keys, strided):
    write_cam_file(str(cam_dir / 'im.npz'), np.asarray(keys), strided)


def _check(pred):
    masks, scores, labels = pred.masks, pred.scores, pred.labels
    assert masks.dtype == torch.bool and masks.shape[1:] == (HEIGHT, WIDTH)
    assert scores.dtype == torch.float32 and labels.dtype == torch.int64
    assert len(masks) == len(scores) == len(labels)
    assert ((0 <= scores) & (scores <= 1)).all()
    # every pixel belongs to at most one detection, every mask is non-empty
    assert masks.sum(0).max() <= 1 and masks.flatten(1).any(1).all()


@pytest.mark.parametrize('cam_power', [1.0, 1.5])
def test_one_class_equals_instance_labels(tmp_path, cam_power):
    strided = np.zeros((1, 8, 11), np.float32)
    strided[0, 1:6, 2:8] = np.linspace(0.2, 1, 30).reshape(5, 6)
    _save_cams(tmp_path, [3], strided)
    out = _predict_from_file(_model(cam_power=cam_power), _image(), tmp_path)
    pred = out.pred_instances
    _check(pred)
    assert len(pred) >= 1 and (pred.labels == 3).all()
    assert pred.scores.max() == pytest.approx(1, abs=1e-6)
    scores, masks, classes = instance_labels(
        torch.from_numpy(strided).pow(cam_power), [3],
        out.irn_edge,
        out.irn_displacement, (HEIGHT, WIDTH),
        exp_times=3,
        centroid_iterations=50)
    assert np.array_equal(pred.masks.numpy(), masks)
    assert np.array_equal(pred.labels.numpy(), classes)
    np.testing.assert_allclose(pred.scores.numpy(), scores, rtol=1e-6)


def test_several_classes(tmp_path):
    strided = np.zeros((2, 8, 11), np.float32)
    strided[0, :4, :5] = 1
    strided[1, 5:, 6:] = 0.8
    pred = _predict(_model(), _image(), [1, 4], strided).pred_instances
    _check(pred)
    assert set(pred.labels.tolist()) == {1, 4}
    # the corners are covered by detections of their CAM's class
    top_left = pred.labels[pred.masks[:, 0, 0]]
    bottom_right = pred.labels[pred.masks[:, -1, -1]]
    assert top_left.tolist() == [1] and bottom_right.tolist() == [4]


def test_walk_dtype_config(tmp_path, monkeypatch):
    instance_module = importlib.import_module('mmwsss.models.irn.instance')
    walk = instance_module.random_walk
    dtypes = []

    def recording_walk(cams, edge, beta, exp_times, radius, dtype):
        dtypes.append(dtype)
        return walk(cams, edge, beta, exp_times, radius, dtype)

    monkeypatch.setattr(instance_module, 'random_walk', recording_walk)
    strided = np.zeros((2, 8, 11), np.float32)
    strided[0, :4, :5] = 1
    strided[1, 5:, 6:] = 0.8
    default = _predict(_model(), _image(), [1, 4], strided).pred_instances
    single = _predict(_model(walk_dtype='float32'), _image(), [1, 4],
                      strided).pred_instances
    assert dtypes == [torch.float64, torch.float32]
    assert torch.equal(single.masks, default.masks)
    assert torch.equal(single.labels, default.labels)
    torch.testing.assert_close(single.scores, default.scores)
    with pytest.raises(ValueError, match='float32 or float64'):
        _model(walk_dtype='bfloat16')


@pytest.mark.parametrize('keys', [[], [2]])
def test_zero_cams_give_no_detection(keys):
    pred = _predict(_model(), _image(), keys,
                    np.zeros((len(keys), 8, 11), np.float32)).pred_instances
    assert pred.masks.shape == (0, HEIGHT, WIDTH)
    assert pred.scores.shape == (0, ) and pred.labels.shape == (0, )
    assert pred.masks.dtype == torch.bool


def test_cams_must_match_and_irnet_checkpoints_load():
    model = _model()
    with pytest.raises(KeyError, match='LoadCAMFile'):
        _predict(model, _image())
    with pytest.raises(ValueError, match='boundary map'):
        _predict(model, _image(), [0], np.ones((1, 5, 5), np.float32))
    plain = MODELS.build({
        k: v
        for k, v in TINY.items()
        if k not in ('exp_times', 'centroid_iterations')
    } | dict(type='mmwsss.IRNet'))
    model.load_state_dict(plain.state_dict(), strict=True)


def test_deprecated_cam_dir_reads_the_files(tmp_path):
    strided = np.zeros((2, 8, 11), np.float32)
    strided[0, :4, :5] = 1
    strided[1, 5:, 6:] = 0.8
    _save_cams(tmp_path, [1, 4], strided)
    with pytest.warns(DeprecationWarning, match='LoadCAMFile'):
        old = _model(cam_dir=str(tmp_path))
    expected = _predict(_model(), _image(), [1, 4], strided).pred_instances
    # the model's own cam_dir wins over CAMs the pipeline loaded
    pred = _predict(old, _image(), [0], np.ones((1, 8, 11),
                                                np.float32)).pred_instances
    assert torch.equal(pred.masks, expected.masks)
    assert torch.equal(pred.labels, expected.labels)
    assert torch.equal(pred.scores, expected.scores)
    with pytest.raises(FileNotFoundError, match='zz.npz'):
        old.predict(*_batch_named('zz'))


def _batch_named(img_id):
    img = _image()
    sample = DataSample(
        metainfo=dict(
            img_id=img_id, img_shape=img.shape[1:],
            ori_shape=img.shape[1:]))
    return img[None].float(), [sample]


@pytest.mark.parametrize('name', ['r18w32_synthvoc', 'r50_voc12aug'])
def test_configs_build(repo_root, name):
    cfg = Config.fromfile(f'{repo_root}/configs/irn/irnet-ins_{name}.py')
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.test_cfg.type == 'mmwsss.ResumableTestLoop'
    assert isinstance(MODELS.build(cfg.model), IRNetInstanceWalk)
    writer, metric = (METRICS.build(c) for c in cfg.test_evaluator)
    assert isinstance(writer, InstancePseudoMaskWriter)
    assert metric.instance_dir.endswith('SegmentationObject')
    assert cfg.test_dataloader.dataset.ann_file.endswith('/train.txt')
