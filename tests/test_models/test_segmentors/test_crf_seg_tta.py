# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image
from torch import nn

from mmwsss.models import CRFSegTTAModel
from mmwsss.models.bbam.pseudo_labels import bbam_dense_crf


class _Segmentor(nn.Module):
    """Stands in for an EncoderDecoder: only what the TTA model reads."""

    def __init__(self, out_channels=2):
        super().__init__()
        self.out_channels = out_channels

    def test_step(self, data):
        return data['data_samples']


def _image(tmp_path, h=24, w=32):
    # Dark left half, bright right half.
    img = np.zeros((h, w, 3), np.uint8)
    img[:, w // 2:] = 255
    path = str(tmp_path / 'img.png')
    Image.fromarray(img).save(path)
    return path, img


def _view(path, logits, gt=None):
    sample = SegDataSample(metainfo=dict(img_path=path, ori_shape=(24, 32)))
    sample.seg_logits = PixelData(data=logits)
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=gt)
    return sample


def _halves_logits(h=24, w=32, margin=1.0):
    logits = torch.zeros(2, h, w)
    logits[0, :, :w // 2] = margin
    logits[1, :, w // 2:] = margin
    return logits


def test_views_are_averaged_then_refined(tmp_path):
    path, img = _image(tmp_path)
    torch.manual_seed(0)
    views = [torch.randn(2, 24, 32) for _ in range(3)]
    gt = torch.zeros(1, 24, 32, dtype=torch.long)
    model = CRFSegTTAModel(_Segmentor(), iterations=5, bilateral_sxy=20)
    merged = model.merge_preds([[_view(path, v, gt) for v in views]])
    assert len(merged) == 1
    probs = torch.stack([v.softmax(0) for v in views]).mean(0).numpy()
    # The image is read with mmcv (BGR); the kernel treats channels alike.
    expected = bbam_dense_crf(
        img[..., ::-1].copy(),
        probs,
        n_iters=5,
        gaussian_sxy=1,
        gaussian_compat=3,
        bilateral_sxy=20,
        bilateral_srgb=3,
        bilateral_compat=4).argmax(0)
    np.testing.assert_array_equal(merged[0].pred_sem_seg.data[0].numpy(),
                                  expected)
    assert merged[0].pred_sem_seg.data.shape == (1, 24, 32)
    assert torch.equal(merged[0].gt_sem_seg.data, gt)
    assert merged[0].img_path == path


def test_crf_snaps_a_noisy_prediction_to_the_image(tmp_path):
    path, _ = _image(tmp_path)
    logits = _halves_logits()
    # A weakly wrong blob inside the dark half.
    logits[:, 8:12, 4:8] = torch.tensor([0.0, 0.3])[:, None, None]
    model = CRFSegTTAModel(_Segmentor())
    pred = model.merge_preds([[_view(path, logits)]])[0].pred_sem_seg.data[0]
    assert (pred[:, :16] == 0).all() and (pred[:, 16:] == 1).all()


def test_test_step_runs_every_view(tmp_path):
    path, _ = _image(tmp_path)
    data = dict(
        inputs=[[torch.zeros(3, 24, 32)], [torch.zeros(3, 24, 32)]],
        data_samples=[[_view(path, _halves_logits())],
                      [_view(path, _halves_logits())]])
    out = CRFSegTTAModel(_Segmentor()).test_step(data)
    assert len(out) == 1
    assert out[0].pred_sem_seg.data[0, 0, 0] == 0


def test_size_mismatch_and_binary_heads_are_rejected(tmp_path):
    path, _ = _image(tmp_path)
    model = CRFSegTTAModel(_Segmentor())
    with pytest.raises(ValueError, match='must be resized back'):
        model.merge_preds([[_view(path, torch.zeros(2, 12, 16))]])
    with pytest.raises(ValueError, match='multi-class'):
        CRFSegTTAModel(_Segmentor(out_channels=1))
