# Copyright (c) mmwsss contributors. All rights reserved.
"""The HTML report of a work dir, built from a tiny fake pipeline run."""
import base64
import importlib.util
import io
import json
import os
import os.path as osp
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from mmwsss.fileio import (encode_rle, save_json, write_cam_file,
                           write_label_map)
from mmwsss.visualization.report import (build_report, discover, image_miou,
                                         write_report)

H, W = 16, 20
STAMP = '20260101_120000'
# The absolute folder the fake run was "recorded" in: the report must find
# every recorded path under the work dir it is given instead.
RECORDED = '/elsewhere/work_dirs/run'
SHIFTS = range(7)  # image k's pseudo-mask is the ground truth shifted by k


def _gt():
    gt = np.zeros((H, W), np.uint8)
    gt[4:12, 4:12] = 1
    gt[0:3, 14:20] = 2
    return gt


def _config(data_root, work_dir, out_file=None):
    evaluator = [dict(type='mmwsss.CAMWriter', output_dir='x')]
    if out_file:
        evaluator.append(dict(type='mmwsss.CAMSeedMetric', out_file=out_file))
    return (f"data_root = 'data/other'\nwork_dir = {work_dir!r}\n"
            f"test_dataloader = dict(dataset=dict(data_root={data_root!r}))\n"
            f'test_evaluator = {evaluator!r}\n')


def _manifest(folder, writer, config, files):
    with open(osp.join(folder, 'manifest.json'), 'w') as f:
        json.dump(dict(writer=writer, config=config, config_file=None,
                       checkpoint=f'{RECORDED}/epoch_1.pth',
                       checkpoint_sha256='ab' * 32, files_on_disk=files,
                       failures=[],
                       output_dir=osp.join(RECORDED,
                                           osp.basename(folder))), f)


def _write_lines(path, records):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(json.dumps(r) + '\n' for r in records))


@pytest.fixture
def work_dir(tmp_path):
    data = tmp_path / 'data'
    for sub in ('JPEGImages', 'SegmentationClass'):
        (data / sub).mkdir(parents=True)
    (data / 'meta.json').write_text(json.dumps(dict(
        classes=['cat', 'dog'], palette=[[0, 0, 0], [128, 0, 0],
                                         [0, 128, 0]])))
    work = tmp_path / 'work'
    cams, masks = work / 'cams', work / 'pseudo_masks'
    cams.mkdir(parents=True)
    masks.mkdir()
    rng = np.random.default_rng(0)
    for k in SHIFTS:
        stem = f'img_{k}'
        Image.fromarray(rng.integers(0, 255, (H, W, 3), np.uint8)).save(
            data / 'JPEGImages' / f'{stem}.png')
        gt = _gt()
        write_label_map(str(data / 'SegmentationClass' / f'{stem}.png'), gt)
        write_label_map(str(masks / f'{stem}.png'), np.roll(gt, k, axis=1))
        maps = np.stack([(gt == 1), (gt == 2)]).astype(np.float32)
        write_cam_file(str(cams / f'{stem}.npz'), np.array([0, 1]),
                       maps[:, ::4, ::4], high_res=maps)
    # a relative data root, as the tools record it: found from the work
    # dir up
    _manifest(str(cams), 'CAMWriter',
              _config('data', f'{RECORDED}/cams_run',
                      f'{RECORDED}/seeds.json'), len(SHIFTS))
    _manifest(str(masks), 'PseudoMaskWriter',
              _config('data', f'{RECORDED}/masks_run'), len(SHIFTS))
    (work / 'cams_run').mkdir()
    (work / 'cams_run' / 'cam_cfg.py').write_text('')
    _write_lines(str(work / 'cams_run' / STAMP / f'{STAMP}.json'),
                 [{'cam_seed/mIoU': 61.25, 'cam_writer/written': None,
                   'time': 0.1}])
    _write_lines(str(work / 'masks_run' / STAMP / f'{STAMP}.json'),
                 [{'pseudo_mask/mIoU': 55.5}])
    per_class = {name: dict(iou=v, precision=v, recall=v, f1=v)
                 for name, v in (('background', 90.0), ('cat', 70.0),
                                 ('dog', 40.0))}
    (work / 'seeds.json').write_text(json.dumps(dict(
        best_threshold=0.2, miou=66.67, per_class=per_class,
        curve=[[0.1, 50.0], [0.2, 66.67], [0.3, 60.0]])))
    _write_lines(str(work / 'classifier' / STAMP / 'vis_data' /
                     'scalars.json'),
                 [dict(loss=1.0 / i, lr=0.1, step=i) for i in range(1, 6)] +
                 [{'multi-label/mAP': 88.5, 'step': 5}])
    (work / 'summary.json').write_text(json.dumps(dict(
        deeplab_val_miou=42.42, per_class=dict(cat=1.5))))
    return work


class _Page(HTMLParser):
    """Headings, images, gallery rows and every attribute of a page."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.rows, self.attrs = [], [], [], []
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attrs.append((tag, attrs))
        if tag == 'h2':
            self.ids.append(attrs.get('id'))
        if tag == 'img':
            self.images.append(attrs['src'])
        if tag == 'tr' and 'data-stem' in attrs:
            self.rows.append((attrs['class'], attrs['data-stem'],
                              float(attrs['data-iou'])))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page):
    parser = _Page()
    parser.feed(page)
    return parser


def test_image_miou():
    gt = _gt()
    assert image_miou(gt, gt, 3) == 1.0
    # background IoU 1/2 (class pixels predicted as background), classes 0
    half = np.zeros((2, 2), np.uint8)
    assert image_miou(half, np.array([[0, 0], [1, 1]], np.uint8), 3) == 0.25
    # predicted 255 (IR labels' ignore band) is a miss, not background
    assert image_miou(np.full((2, 2), 255, np.uint8),
                      np.zeros((2, 2), np.uint8), 3) == 0.0


def test_discover_maps_recorded_paths(work_dir):
    found = discover(str(work_dir))
    assert [w['name'] for w in found['writers']] == ['cams', 'pseudo_masks']
    cams, masks = found['writers']
    assert cams['kind'] == 'cams' and masks['kind'] == 'label_maps'
    # the runs and seed report recorded under RECORDED, found in work_dir
    assert cams['run']['test_metrics'] == {'cam_seed/mIoU': 61.25}
    assert cams['run']['config'] == 'cam_cfg.py'
    assert cams['seed_report']['best_threshold'] == 0.2
    assert masks['run']['test_metrics'] == {'pseudo_mask/mIoU': 55.5}
    # the training run belongs to no writer
    assert [r['name'] for r in found['runs']] == ['classifier']
    assert found['runs'][0]['val_metrics'] == {'multi-label/mAP': 88.5}


def test_writer_beside_its_run_is_found(work_dir):
    """The pipeline runner's layout: a stage folder holds its timestamped
    run and its writer's output folder side by side."""
    stage = work_dir / 'cam_stage'
    shutil.move(str(work_dir / 'cams'), str(stage / 'cams'))
    _write_lines(str(stage / STAMP / f'{STAMP}.json'),
                 [{'cam_seed/mIoU': 61.25}])
    found = discover(str(work_dir))
    assert [w['name'] for w in found['writers']] == [
        osp.join('cam_stage', 'cams'), 'pseudo_masks'
    ]


def test_summary_stage_order(work_dir):
    (work_dir / 'summary.json').write_text(json.dumps(dict(
        stages=[dict(name='pseudo_masks'), dict(name='cams')])))
    (work_dir / 'pseudo_masks' / 'stage.json').write_text(json.dumps(dict(
        wall_seconds=12.5, metrics={'pseudo_mask/mIoU': 55.5})))
    found = discover(str(work_dir))
    assert [w['name'] for w in found['writers']] == ['pseudo_masks', 'cams']
    assert found['stage_records'] == {'pseudo_masks': dict(
        wall_seconds=12.5, metrics={'pseudo_mask/mIoU': 55.5})}
    text = ' '.join(_parse(build_report(str(work_dir), gallery=0)).text)
    assert 'Stage record: pseudo_masks' in text and '12.50' in text


def test_report_page(work_dir, tmp_path):
    out = write_report(str(work_dir), str(tmp_path / 'r.html'), gallery=2)
    with open(out, encoding='utf-8') as f:
        page = f.read()
    parsed = _parse(page)
    assert parsed.ids == ['summary', 'metrics', 'plots', 'gallery',
                          'provenance']
    text = ' '.join(parsed.text)
    assert str(tmp_path / 'data') in text
    for expected in ('61.25', '55.50', '88.50', '42.42', 'cam_cfg.py',
                     'ab' * 32, 'Seed mIoU vs background threshold',
                     'Per-class IoU', 'Training: classifier'):
        assert expected in text
    # self-contained: every image a decodable PNG data URI, no links
    assert len(parsed.images) > 5
    for src in parsed.images:
        prefix = 'data:image/png;base64,'
        assert src.startswith(prefix)
        with Image.open(io.BytesIO(base64.b64decode(src[len(prefix):]))) \
                as img:
            assert img.format == 'PNG'
            img.load()
    for tag, attrs in parsed.attrs:
        assert tag not in ('script', 'link', 'iframe')
        assert 'href' not in attrs
        assert tag == 'img' or 'src' not in attrs
    assert 'http' not in ' '.join(parsed.text)
    # gallery: best = least shifted, worst = most shifted, then 2 others
    groups = [(g, s) for g, s, _ in parsed.rows]
    assert groups[:4] == [('row-best', 'img_0'), ('row-best', 'img_1'),
                          ('row-worst', 'img_6'), ('row-worst', 'img_5')]
    assert [g for g, _ in groups[4:]] == ['row-random'] * 2
    assert {s for _, s in groups[4:]} <= {'img_2', 'img_3', 'img_4'}
    ious = [iou for _, _, iou in parsed.rows]
    assert ious[0] == 1.0 and ious[0] > ious[1] > ious[3] > ious[2]


def test_report_without_ground_truth(work_dir, tmp_path):
    page = build_report(str(work_dir), data_root=str(tmp_path / 'none'))
    assert 'no gallery' in page
    assert 'row-best' not in page


def test_instance_stage_ranks_the_gallery(work_dir, tmp_path):
    """A later stage of instance records (masks as RLE) is drawn and,
    painted into a label map, ranks the gallery."""
    folder = work_dir / 'instances'
    folder.mkdir()
    for k in SHIFTS:
        mask = np.roll(_gt() == 1, len(SHIFTS) - 1 - k, axis=1)
        rle = encode_rle(mask)
        save_json(str(folder / f'img_{k}.instances.json'), dict(
            height=H, width=W, detections=[dict(
                label=0, score=0.9, segmentation=rle,
                bbox=[0.0, 0.0, 4.0, 4.0])]))
    _manifest(str(folder), 'InstancePseudoMaskWriter', '', len(SHIFTS))
    found = discover(str(work_dir))
    assert found['writers'][-1]['kind'] == 'instances'
    assert found['writers'][-1]['stems'][0] == 'img_0'
    parsed = _parse(build_report(str(work_dir), gallery=1))
    # image 6's instance is not shifted; class 2 is missed everywhere
    assert [s for _, s, _ in parsed.rows][:2] == ['img_6', 'img_0']
    assert parsed.rows[0][2] == pytest.approx(
        image_miou(_gt() * (_gt() == 1), _gt(), 3))
    assert 'instances' in ' '.join(parsed.text)


class _Gallery(HTMLParser):
    """The gallery's column titles and, per row, the cells holding an
    image."""

    def __init__(self):
        super().__init__()
        self.in_gallery = False
        self.header, self.rows = [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == 'table' and dict(attrs).get('class') == 'gallery':
            self.in_gallery = True
        if not self.in_gallery:
            return
        if tag == 'tr' and 'data-stem' in dict(attrs):
            self.rows.append([])
        if tag in ('th', 'td'):
            self._cell = tag
            if tag == 'td' and self.rows:
                self.rows[-1].append(False)
        if tag == 'img' and self.rows and self.rows[-1]:
            self.rows[-1][-1] = True

    def handle_endtag(self, tag):
        if tag == 'table':
            self.in_gallery = False
        if tag in ('th', 'td'):
            self._cell = None

    def handle_data(self, data):
        if self.in_gallery and self._cell == 'th':
            self.header.append(data)


def test_segmenter_predictions_join_the_gallery(work_dir):
    """The demo pipeline's last stage: the segmenter's test run on the
    pseudo-masks' images, its IoUMetric next to mmwsss.LabelMapWriter. Its
    folder becomes a gallery column of the same rows and ranks them."""
    import torch

    from mmwsss.evaluation.writers import LabelMapWriter
    stage = work_dir / 'deeplab_predictions'
    config = (f"work_dir = {str(stage)!r}\n"
              "test_dataloader = dict(dataset=dict(data_root='data'))\n"
              "test_evaluator = [dict(type='IoUMetric'), dict(type="
              "'mmwsss.LabelMapWriter', output_dir='predictions')]\n")
    writer = LabelMapWriter(output_dir=str(stage / 'predictions'))
    writer.set_run_info(config, 'deeplab.py', None)
    # image k's prediction: the ground truth shifted by 6 - k (the
    # pseudo-masks' order reversed)
    writer.process(None, [
        dict(img_path=f'JPEGImages/img_{k}.png',
             pred_sem_seg=dict(data=torch.from_numpy(
                 np.roll(_gt(), len(SHIFTS) - 1 - k, axis=1))[None]))
        for k in SHIFTS
    ])
    writer.compute_metrics(writer.results)
    _write_lines(str(stage / STAMP / f'{STAMP}.json'), [{'mIoU': 77.25}])
    (work_dir / 'summary.json').write_text(json.dumps(dict(stages=[
        dict(name='cams'), dict(name='pseudo_masks'),
        dict(name='deeplab_predictions')
    ])))
    found = discover(str(work_dir))
    predictions = found['writers'][-1]
    assert predictions['name'] == osp.join('deeplab_predictions',
                                           'predictions')
    assert predictions['kind'] == 'label_maps'
    assert predictions['run']['test_metrics'] == {'mIoU': 77.25}
    page = build_report(str(work_dir), gallery=1)
    gallery = _Gallery()
    gallery.feed(page)
    assert gallery.header == [
        'group', 'file', 'mIoU', 'image', 'cams', 'pseudo_masks',
        osp.join('deeplab_predictions', 'predictions'), 'ground truth'
    ]
    # every row shows every stage on its image, the predictions included
    assert len(gallery.rows) == 3
    assert all(row[3:] == [True] * 5 for row in gallery.rows)
    # ranked by the last stage: image 6's prediction is not shifted
    assert [s for _, s, _ in _parse(page).rows][:2] == ['img_6', 'img_0']
    assert '77.25' in ' '.join(_parse(page).text)


def test_cli(work_dir, tmp_path, capsys):
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        'report_tool', osp.join(root, 'tools', 'analysis', 'report.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'cli.html'
    tool.main([str(work_dir), '--out', str(out), '--gallery', '1',
               '--data-root', str(tmp_path / 'data')])
    assert str(out) in capsys.readouterr().out
    assert len(_parse(out.read_text()).rows) == 3


BROWSERS = [b for b in ('chromium', 'chromium-browser', 'google-chrome')
            if shutil.which(b)]


@pytest.mark.skipif(
    not BROWSERS,
    reason='no headless browser (chromium, chromium-browser, google-chrome) '
    'installed to render the page')
def test_report_renders_in_browser(work_dir, tmp_path):
    out = write_report(str(work_dir), str(tmp_path / 'r.html'), gallery=1)
    shot = tmp_path / 'shot.png'
    subprocess.run([BROWSERS[0], '--headless', '--disable-gpu',
                    '--no-sandbox', f'--screenshot={shot}',
                    '--window-size=1200,2000', 'file://' + out],
                   check=True, timeout=120, capture_output=True)
    with Image.open(shot) as img:
        pixels = np.asarray(img.convert('RGB'))
    # something besides the white background was drawn
    assert (pixels < 200).any(axis=-1).mean() > 0.01
