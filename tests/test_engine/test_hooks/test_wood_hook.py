# Copyright (c) mmwsss contributors. All rights reserved.
"""WOoDCentersHook: class centres and OoD K-means from a tiny model, in one
and in two (gloo) processes."""
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from mmwsss.engine.hooks import WOoDCentersHook
from mmwsss.models.wood import kmeans
from mmwsss.registry import MODELS
from mmwsss.testing import count_host_syncs, device_like_inputs

LABELS = [[0], [1, 2], [2], [0, 2], [1]]


class _Images(Dataset):
    """Random uint8 images of varying size, optionally labelled."""

    def __init__(self, n, seed, labels=None):
        g = torch.Generator().manual_seed(seed)
        self.images = [
            torch.randint(0, 256, (3, 24 + 4 * (i % 3), 28), generator=g,
                          dtype=torch.uint8) for i in range(n)
        ]
        self.labels = labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        sample = DataSample()
        if self.labels is not None:
            sample.set_gt_label(self.labels[i])
        return dict(inputs=self.images[i], data_samples=sample)


class _Runner:

    def __init__(self, model):
        self.model = model
        self.logger = MMLogger.get_instance('test_wood_hook')


def _model(k=3):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='mmwsss.WOoDClassifier',
            data_preprocessor=dict(
                num_classes=3, mean=[128.0] * 3, std=[64.0] * 3,
                to_onehot=True),
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                base_channels=8,
                strides=(1, 2, 2, 1),
                out_indices=(3, ),
                frozen_stages=2,
                norm_eval=True),
            head=dict(type='mmwsss.CAMHead', num_classes=3, in_channels=64),
            num_ood_clusters=k))


def _hook(**kwargs):
    return WOoDCentersHook(
        in_dataset=_Images(5, 0, LABELS), ood_dataset=_Images(7, 1),
        **kwargs)


def _expected(model):
    model.eval()
    with torch.no_grad():
        def feat(img):
            x = (img.float()[None] - 128) / 64
            return model.pooled_features(x)[0]

        ind = _Images(5, 0, LABELS)
        fin = torch.stack([feat(ind[i]['inputs']) for i in range(5)])
        fout = torch.stack(
            [feat(_Images(7, 1)[i]['inputs']) for i in range(7)])
    y = torch.zeros(5, 3)
    for row, labels in zip(y, LABELS):
        row[labels] = 1
    centers = (y.t() @ fin) / y.sum(0)[:, None]
    return centers, kmeans(fout, 3, 10)[1]


def test_centres_from_the_model():
    model = _model().train()
    assert model.backbone.layer4.training
    _hook().before_train(_Runner(model))
    assert model.centers_ready
    assert model.training  # restored after the eval-mode extraction
    centers, ood = _expected(model)
    torch.testing.assert_close(model.wood_class_centers, centers)
    torch.testing.assert_close(model.wood_ood_centers, ood)
    assert len({tuple(c.tolist()) for c in model.wood_ood_centers}) == 3


def test_kept_unless_recompute_and_k_check():
    model = _model()
    model.set_centers(torch.ones(3, 64), torch.ones(3, 64))
    _hook().before_train(_Runner(model))
    assert (model.wood_class_centers == 1).all()
    _hook(recompute=True).before_train(_Runner(model))
    assert not (model.wood_class_centers == 1).all()
    with pytest.raises(ValueError, match='at least K=8'):
        _hook().before_train(_Runner(_model(k=8)))


def test_ood_features_reach_the_host_at_once():
    model = _model().eval()
    counts = []
    for num_images in (3, 7):
        dataset = _Images(num_images, 1)
        with device_like_inputs(), count_host_syncs() as syncs:
            features = _hook().ood_features(model, dataset)
        assert type(features) is torch.Tensor
        assert features.shape == (num_images, 64)
        counts.append(syncs['count'])
    assert counts == [1, 1]


def _worker(rank, store, out):
    dist.init_process_group(
        'gloo', init_method=f'file://{store}', rank=rank, world_size=2)
    torch.set_num_threads(1)
    model = _model()
    _hook().before_train(_Runner(model))
    if rank == 0:
        torch.save(
            dict(c=model.wood_class_centers, o=model.wood_ood_centers), out)
    dist.destroy_process_group()


def test_two_processes_equal_one(tmp_path):
    out = str(tmp_path / 'centres.pth')
    mp.start_processes(
        _worker, args=(str(tmp_path / 'store'), out), nprocs=2,
        start_method='fork')
    got = torch.load(out)
    model = _model()
    _hook().before_train(_Runner(model))
    torch.testing.assert_close(got['c'], model.wood_class_centers)
    torch.testing.assert_close(got['o'], model.wood_ood_centers)


def test_ood_clusters_by_predicted_class():
    with pytest.raises(ValueError, match='ood_clustering'):
        _hook(ood_clustering='dbscan')
    with pytest.raises(ValueError, match='num_ood_clusters=3'):
        _hook(ood_clustering='predicted_class').before_train(
            _Runner(_model(k=4)))
    model = _model(k=3)
    _hook(ood_clustering='predicted_class').before_train(_Runner(model))
    centers, kmeans_ood = _expected(model)
    torch.testing.assert_close(model.wood_class_centers, centers)
    ood = _Images(7, 1)
    with torch.no_grad():
        feats = [model.extract_feat(
            (ood[i]['inputs'].float()[None] - 128) / 64) for i in range(7)]
    features = torch.stack([f[-1].mean((2, 3))[0] for f in feats])
    predicted = torch.stack([model.head(f).argmax(1)[0] for f in feats])
    for c in range(3):
        members = features[predicted == c]
        expected = members.mean(0) if len(members) else features.mean(0)
        torch.testing.assert_close(model.wood_ood_centers[c], expected)
    assert not torch.allclose(model.wood_ood_centers, kmeans_ood)


def test_predicted_class_clusters_fill_empty_classes():
    features = torch.tensor([[1., 0], [3., 0], [0., 4]])
    labels, centers = WOoDCentersHook.predicted_class_clusters(
        features, torch.tensor([0, 0, 2]), 3)
    assert labels.tolist() == [0, 0, 2]
    torch.testing.assert_close(
        centers, torch.tensor([[2., 0], [4 / 3, 4 / 3], [0., 4]]))
