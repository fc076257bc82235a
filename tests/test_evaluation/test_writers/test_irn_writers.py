# Copyright (c) mmwsss contributors. All rights reserved.
import json
import os

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmpretrain.structures import DataSample
from PIL import Image

from mmwsss.datasets.synthetic import voc_palette
from mmwsss.datasets.voc_wsss import read_label_map
from mmwsss.evaluation import IRLabelWriter, PseudoMaskWriter


def _sample(name, seed, ignore=True):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 4, (1, 9, 13)).astype(np.uint8)
    if ignore:
        label[0, :2] = 255
    sample = DataSample(metainfo=dict(img_id=name, img_path=f'x/{name}.jpg'))
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(label))
    return sample.to_dict()


@pytest.mark.parametrize('writer_type', [IRLabelWriter, PseudoMaskWriter])
def test_png_with_voc_palette_reads_back(tmp_path, writer_type):
    writer = writer_type(output_dir=str(tmp_path / 'out'))
    sample = _sample('a', 0)
    writer.process(None, [sample])
    path = writer.output_path(sample)
    assert path.endswith('a.png')
    with Image.open(path) as img:
        assert img.mode == 'P'
        palette = np.array(img.getpalette()).reshape(-1, 3)
    assert (palette[:256] == voc_palette(256)).all()
    assert palette[255].tolist() == [224, 224, 192]
    label = read_label_map(path, 3)
    assert np.array_equal(label, sample['pred_sem_seg']['data'][0].numpy())
    restored = writer.load_output(DataSample(metainfo=dict(img_id='a')))
    assert torch.equal(restored.pred_sem_seg.data,
                       sample['pred_sem_seg']['data'])


def test_atomic_resume_manifest_and_determinism(tmp_path):
    out = str(tmp_path / 'ir')
    writer = IRLabelWriter(output_dir=out)
    ckpt = tmp_path / 'cam.pth'
    ckpt.write_bytes(b'cam weights')
    writer.set_run_info('cfg = 2', 'ir.py', str(ckpt))
    writer.process(None, [_sample('a', 0), _sample('b', 1)])
    bytes_a = open(os.path.join(out, 'a.png'), 'rb').read()
    # an existing file is kept (resume), a new one written
    writer.process(None, [_sample('a', 5), _sample('c', 2)])
    assert open(os.path.join(out, 'a.png'), 'rb').read() == bytes_a
    assert writer.compute_metrics(writer.results) == dict(
        written=3, skipped=0, failed=0)
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert manifest['writer'] == 'IRLabelWriter'
    assert manifest['files_on_disk'] == 3
    assert manifest['checkpoint'] == str(ckpt)
    assert sorted(
        os.listdir(out)) == ['a.png', 'b.png', 'c.png', 'manifest.json']
    again = IRLabelWriter(output_dir=str(tmp_path / 'again'))
    again.process(None, [_sample('a', 0)])
    assert open(again.output_path(dict(img_id='a')), 'rb').read() == bytes_a


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    writer = PseudoMaskWriter(output_dir=str(tmp_path))

    def broken_save(self, f, *args, **kwargs):
        f.write(b'half a png')
        raise OSError('disk full')

    monkeypatch.setattr(Image.Image, 'save', broken_save)
    with pytest.raises(OSError, match='disk full'):
        writer.process(None, [_sample('a', 0)])
    assert os.listdir(str(tmp_path)) == []
    assert not writer.has_output(dict(img_id='a'))


def test_rejects_out_of_range_labels(tmp_path):
    writer = PseudoMaskWriter(output_dir=str(tmp_path))
    sample = _sample('a', 0)
    sample['pred_sem_seg']['data'] = torch.full((1, 4, 4), 300)
    with pytest.raises(ValueError, match='0..255'):
        writer.process(None, [sample])
