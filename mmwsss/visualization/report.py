# Copyright (c) mmwsss contributors. All rights reserved.
"""One self-contained HTML page describing a pipeline run's work dir.

The page is built only from what the run left on disk, so it works for
``make demo``, ``tools/run_pipeline.py`` and hand-run stages alike:

- **writer folders**: a ``manifest.json`` (see
  :class:`mmwsss.evaluation.writers.base_writer.BaseWriter`) next to CAM
  ``.npz`` files or label PNGs (IR labels, pseudo-masks, predictions);
- **mmengine run dirs**: ``<run>/<stamp>/<stamp>.json`` (the metrics
  ``tools/test.py`` logs) and ``<run>/<stamp>/vis_data/scalars.json``
  (training losses, learning rates, validation metrics);
- **seed reports**: the ``out_file`` json of :class:`mmwsss.CAMSeedMetric`
  (per-class scores and the background-threshold sweep), found through the
  config text of the CAM writer's manifest;
- ``summary.json`` when present (its numbers, and the stage order of its
  ``stages`` entry), and the ``<stage>/stage.json`` records of
  ``tools/run_pipeline.py``.

Every image is embedded as a base64 PNG data URI; the page references no
file and no server.
"""
import base64
import glob
import html
import io
import json
import os
import os.path as osp
import re
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from mmwsss.evaluation.functional import label_confusion, segmentation_scores
from mmwsss.fileio import (decode_rle, load_record, read_cam_file,
                           read_finest_cams, read_label_map)
from .drawing import draw_instances, draw_label_map, side_by_side
from .wsss_visualizer import WSSSVisualizer

MANIFEST = 'manifest.json'
STAGE_RECORD = 'stage.json'
# Seed threshold of the CAM panels when no seed report names the best one.
DEFAULT_SEED_THRESHOLD = 0.15
# Scalars of a log record that are bookkeeping, not results.
_BOOKKEEPING = {'data_time', 'time', 'step', 'iter', 'epoch', 'memory'}
_STAMP = re.compile(r'^\d{8}_\d{6}$')


# ---------------------------------------------------------------- reading
def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def _read_json_lines(path: str) -> List[dict]:
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def _parse_config(text: str) -> Dict[str, Any]:
    """``work_dir``, ``data_root`` and seed-report files of a config text.

    Parsed with mmengine's ``Config.fromstring``; a regex reads the data
    root of texts it cannot parse. The dataset's ``data_root`` (where
    ``--cfg-options`` put it) wins over the top-level variable.
    """
    found: Dict[str, Any] = dict(work_dir=None, data_root=None, out_files=[])
    try:
        from mmengine.config import Config
        cfg = Config.fromstring(text, '.py')
    except Exception:  # any syntax/import error of a foreign config
        roots = re.findall(r"data_root\s*=\s*['\"]([^'\"]+)['\"]", text)
        found['data_root'] = roots[-1] if roots else None
        return found
    found['work_dir'] = cfg.get('work_dir')
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    found['data_root'] = dataset.get('data_root') or cfg.get('data_root')
    evaluators = cfg.get('test_evaluator') or []
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    found['out_files'] = [e['out_file'] for e in evaluators
                          if isinstance(e, dict) and e.get('out_file')]
    return found


class _PathMapper:
    """Maps the absolute paths a run recorded into a (moved) work dir.

    A writer's manifest records its absolute ``output_dir``; its folder's
    place under the work dir gives the run's original root, and every path
    under that root is looked up under the work dir instead.
    """

    def __init__(self, work_dir: str):
        self.work_dir = work_dir
        self.roots: List[str] = []

    def learn(self, recorded_dir: str, actual_dir: str) -> None:
        tail = osp.relpath(actual_dir, self.work_dir)
        recorded = osp.normpath(recorded_dir)
        if tail != '.' and recorded.endswith(os.sep + tail):
            self.roots.append(recorded[:-len(tail) - 1])

    def __call__(self, path: Optional[str]) -> Optional[str]:
        if not path:
            return None
        # the copy under the work dir first: the original may still exist
        for root in self.roots:
            if osp.normpath(path).startswith(root + os.sep):
                moved = osp.join(self.work_dir, osp.relpath(path, root))
                if osp.exists(moved):
                    return moved
        return path if osp.exists(path) else None


def _latest_stamp(run_dir: str) -> Optional[str]:
    stamps = sorted(d for d in os.listdir(run_dir)
                    if _STAMP.match(d) and osp.isdir(osp.join(run_dir, d)))
    return stamps[-1] if stamps else None


def _results(record: dict) -> Dict[str, float]:
    """The numeric results of a log record (bookkeeping and nulls left
    out)."""
    return {k: v for k, v in record.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k not in _BOOKKEEPING}


def read_run_dir(run_dir: str) -> Optional[dict]:
    """Metrics and training curves of an mmengine work dir (latest run).

    Args:
        run_dir (str): A ``--work-dir`` of ``tools/train.py`` or
            ``tools/test.py``.

    Returns:
        dict, optional: ``stamp``, ``config`` (the dumped config's file
        name), ``test_metrics`` (the last record of ``<stamp>.json``),
        ``val_metrics`` (the last validation record of ``scalars.json``)
        and ``train`` (the training records); None if ``run_dir`` holds no
        run.
    """
    stamp = _latest_stamp(run_dir)
    if stamp is None:
        return None
    configs = sorted(f for f in os.listdir(run_dir) if f.endswith('.py'))
    run = dict(name=osp.basename(run_dir), path=run_dir, stamp=stamp,
               config=configs[0] if configs else None, test_metrics={},
               val_metrics={}, train=[])
    metrics_file = osp.join(run_dir, stamp, stamp + '.json')
    if osp.isfile(metrics_file):
        records = _read_json_lines(metrics_file)
        if records:
            run['test_metrics'] = _results(records[-1])
    scalars = osp.join(run_dir, stamp, 'vis_data', 'scalars.json')
    if osp.isfile(scalars):
        for record in _read_json_lines(scalars):
            if 'loss' in record or 'lr' in record:
                run['train'].append(record)
            else:
                run['val_metrics'] = _results(record)
    return run


# Per-image suffixes of the writers, longest first (instance writers add
# their kind before ``.json``).
_SUFFIXES = (('cams', '.npz'), ('label_maps', '.png'),
             ('instances', '.instances.json'), ('instances', '.masks.json'),
             ('instances', '.json'))


def _folder_kind(folder: str) -> Tuple[Optional[str], str, List[str]]:
    """What a writer folder holds (``cams``, ``label_maps``,
    ``instances``, or ``maps``: arrays that are not CAM files, e.g. BBAM
    maps), its file suffix and the file stems."""
    files = sorted(f for f in os.listdir(folder) if f != MANIFEST)
    for kind, suffix in _SUFFIXES:
        stems = [f[:-len(suffix)] for f in files if f.endswith(suffix)]
        if not stems:
            continue
        if kind == 'cams' and not _is_cam_file(
                osp.join(folder, stems[0] + suffix)):
            kind = 'maps'
        return kind, suffix, stems
    return None, '', []


def _is_cam_file(path: str) -> bool:
    try:
        read_cam_file(path, ('keys', 'strided'))
    except (KeyError, ValueError):
        return False
    return True


def _stamp_of_time(seconds: float) -> str:
    # mmengine names runs by local time
    return time.strftime('%Y%m%d_%H%M%S', time.localtime(seconds))


def discover(work_dir: str) -> dict:
    """Find the stages of a work dir.

    Args:
        work_dir (str): The pipeline's work dir.

    Returns:
        dict: ``summary`` (``summary.json`` or None), ``writers`` (one dict
        per writer folder: name, path, kind, suffix, stems, manifest, run,
        seed report, data root), ``runs`` (the mmengine run dirs no writer
        points to), both in pipeline order, and ``stage_records`` (the
        ``<stage>/stage.json`` contents by stage).
    """
    work_dir = osp.abspath(work_dir)
    summary_file = osp.join(work_dir, 'summary.json')
    summary = _read_json(summary_file) if osp.isfile(summary_file) else None
    mapper = _PathMapper(work_dir)
    writers, run_dirs = [], []
    for folder, dirs, files in os.walk(work_dir):
        dirs.sort()
        if MANIFEST in files:
            manifest = _read_json(osp.join(folder, MANIFEST))
            if manifest.get('output_dir'):
                mapper.learn(manifest['output_dir'], folder)
            kind, suffix, stems = _folder_kind(folder)
            if kind is not None:
                writers.append(dict(
                    name=osp.relpath(folder, work_dir), path=folder,
                    kind=kind, suffix=suffix, stems=stems,
                    manifest=manifest))
        if any(_STAMP.match(d) for d in dirs):
            run_dirs.append(folder)
            # a run's timestamped folders hold no stages; its siblings may
            # (the pipeline runner writes a stage's outputs beside its run)
            dirs[:] = [d for d in dirs if not _STAMP.match(d)]
    runs = {}
    for run_dir in run_dirs:
        run = read_run_dir(run_dir)
        if run is not None:
            runs[osp.normpath(run_dir)] = run
    for writer in writers:
        parsed = _parse_config(writer['manifest'].get('config') or '')
        writer['data_root'] = parsed['data_root']
        run_dir = mapper(parsed['work_dir'])
        writer['run'] = runs.pop(osp.normpath(run_dir), None) \
            if run_dir else None
        writer['seed_report'] = None
        for out_file in parsed['out_files']:
            report_file = mapper(out_file)
            if report_file and osp.isfile(report_file):
                report = _read_json(report_file)
                if isinstance(report, dict) and 'per_class' in report:
                    writer['seed_report'] = report
        writer['stamp'] = writer['run']['stamp'] if writer['run'] else \
            _stamp_of_time(osp.getmtime(osp.join(writer['path'], MANIFEST)))
    order = _summary_order(summary)
    writers.sort(key=lambda w: (order.get(w['name'], len(order)),
                                w['stamp'], w['name']))
    trained = sorted(runs.values(), key=lambda r: (
        order.get(r['name'], len(order)), r['stamp'], r['name']))
    # per-stage records of tools/run_pipeline.py: <work_dir>/<stage>/
    stage_records = {
        osp.basename(osp.dirname(path)): _read_json(path)
        for path in sorted(glob.glob(osp.join(work_dir, '*', STAGE_RECORD)))
    }
    stage_records = dict(sorted(stage_records.items(), key=lambda item: (
        order.get(item[0], len(order)), item[0])))
    return dict(work_dir=work_dir, summary=summary, writers=writers,
                runs=trained, stage_records=stage_records)


def _summary_order(summary: Optional[dict]) -> Dict[str, int]:
    """Stage name -> position, from a ``stages`` entry of summary.json."""
    stages = (summary or {}).get('stages')
    if isinstance(stages, dict):
        names = list(stages)
    elif isinstance(stages, list):
        names = [s.get('name') if isinstance(s, dict) else s for s in stages]
    else:
        return {}
    return {str(n): i for i, n in enumerate(names) if n is not None}


# ----------------------------------------------------------------- scores
def label_map_ious(pred: np.ndarray, gt: np.ndarray,
                   num_classes: int) -> np.ndarray:
    """Per-class IoU of a label map against its ground truth.

    Predicted 255 (the ignore band of IR labels) is a miss, not a class;
    ground-truth 255 is left out.

    Args:
        pred (np.ndarray): (H, W) labels in ``0..num_classes-1`` and 255.
        gt (np.ndarray): (H, W) ground truth.
        num_classes (int): Classes, background included.

    Returns:
        np.ndarray: (num_classes,) IoU in [0, 1]; NaN for a class absent
        from both maps.
    """
    return _confusion_ious(label_confusion(pred, gt, num_classes, True))


def _confusion_ious(confusion: np.ndarray) -> np.ndarray:
    # the "unlabelled" column becomes a class of its own, dropped after
    square = np.vstack([confusion, np.zeros_like(confusion[:1])])
    return segmentation_scores(square)['iou'][:confusion.shape[0]]


def image_miou(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> float:
    """Mean IoU of one image over the classes present in either map (NaN
    if none)."""
    return _mean_present(label_map_ious(pred, gt, num_classes))


def _mean_present(ious: np.ndarray) -> float:
    present = ious[~np.isnan(ious)]
    return float(present.mean()) if present.size else float('nan')


# ---------------------------------------------------------------- dataset
class _Dataset:
    """Images, ground truth and class names of a VOC-layout data root."""

    def __init__(self, data_root: Optional[str], classes: Sequence[str]):
        self.root = data_root
        self.classes = list(classes)

    def image(self, stem: str) -> Optional[np.ndarray]:
        for suffix in ('.jpg', '.png', '.jpeg'):
            path = osp.join(self.root, 'JPEGImages', stem + suffix)
            if osp.isfile(path):
                with Image.open(path) as img:
                    return np.asarray(img.convert('RGB'))
        return None

    def gt(self, stem: str) -> Optional[np.ndarray]:
        path = osp.join(self.root, 'SegmentationClass', stem + '.png')
        if not osp.isfile(path):
            return None
        return read_label_map(path, len(self.classes) - 1)


def _resolve_root(root: Optional[str], work_dir: str) -> Optional[str]:
    """A recorded data root; a relative one is looked up from the work dir
    up (the repo the tools ran in), then from the current folder."""
    if not root:
        return None
    if not osp.isabs(root):
        folder = work_dir
        while True:
            if osp.isdir(osp.join(folder, root)):
                return osp.join(folder, root)
            parent = osp.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return root if osp.isdir(root) else None


def _classes(data_root: Optional[str], writers: List[dict]) -> List[str]:
    """Class names, background first: the data root's ``meta.json``, a
    seed report, or VOC's."""
    if data_root:
        from mmwsss.datasets.voc_wsss import meta_json_metainfo
        meta = meta_json_metainfo(data_root, with_background=True)
        if meta is not None:
            return list(meta['classes'])
    for writer in writers:
        if writer['seed_report']:
            return list(writer['seed_report']['per_class'])
    from mmwsss.datasets.voc_wsss import VOC_CLASSES
    return ['background', *VOC_CLASSES]


# ------------------------------------------------------------------ plots
def _png_uri(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    return 'data:image/png;base64,' + base64.b64encode(
        buffer.getvalue()).decode('ascii')


def _figure_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=90, bbox_inches='tight')
    import matplotlib.pyplot as plt
    plt.close(fig)
    return 'data:image/png;base64,' + base64.b64encode(
        buffer.getvalue()).decode('ascii')


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _threshold_plot(writers: List[dict]) -> Optional[str]:
    curves = [(w['name'], w['seed_report']) for w in writers
              if w['seed_report'] and w['seed_report'].get('curve')]
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, report in curves:
        curve = np.asarray(report['curve'], np.float64)
        ax.plot(curve[:, 0], curve[:, 1], label=name)
        if report.get('best_threshold') is not None:
            ax.axvline(report['best_threshold'], ls=':', lw=1,
                       color=ax.lines[-1].get_color())
    ax.set_xlabel('background threshold')
    ax.set_ylabel('seed mIoU (%)')
    ax.grid(alpha=0.3)
    ax.legend()
    return _figure_uri(fig)


def _class_iou_plot(per_class: Dict[str, Dict[str, float]],
                    classes: List[str]) -> Optional[str]:
    if not per_class:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(classes)), 3.4))
    width = 0.8 / len(per_class)
    x = np.arange(len(classes))
    for k, (stage, ious) in enumerate(per_class.items()):
        ax.bar(x + (k - (len(per_class) - 1) / 2) * width,
               [ious.get(c, np.nan) for c in classes], width, label=stage)
    ax.set_xticks(x, classes, rotation=30, ha='right')
    ax.set_ylabel('IoU (%)')
    ax.set_ylim(0, 100)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8)
    return _figure_uri(fig)


def _training_plot(run: dict) -> Optional[str]:
    records = run['train']
    keys = [k for k in ('loss', 'lr') if any(k in r for r in records)]
    if not keys:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 2.8))
    for ax, key in zip(np.atleast_1d(axes), keys):
        points = [(r.get('step', i), r[key]) for i, r in enumerate(records)
                  if key in r]
        ax.plot(*zip(*points))
        ax.set_title(key)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
    return _figure_uri(fig)


# ---------------------------------------------------------------- gallery
def _cam_cell(image: np.ndarray, cam_file: str, threshold: float,
              max_cams: int, classes: Sequence[str]) -> np.ndarray:
    """Heat maps and seeds of a CAM file, drawn by WSSSVisualizer."""
    keys, maps = read_finest_cams(cam_file)
    visualizer = WSSSVisualizer(name='report', seed_threshold=threshold,
                                max_cams=max_cams)
    # CAM keys are 0-based foreground classes
    visualizer.dataset_meta = dict(classes=tuple(classes[1:]))
    panels = visualizer.panels(
        image, dict(cam_high_res=maps, cam_keys=keys), draw_gt=False)
    return side_by_side(panels[1:])  # the image has its own column


def _pick_rows(ious: Dict[str, float], count: int,
               seed: int) -> List[Tuple[str, str, float]]:
    """(group, stem, IoU) of the ``count`` best, worst and random images."""
    ranked = sorted((v, s) for s, v in ious.items() if not np.isnan(v))
    best = [s for _, s in ranked[::-1][:count]]
    worst = [s for _, s in ranked[:count] if s not in best]
    rest = sorted(set(ious) - set(best) - set(worst))
    rng = np.random.default_rng(seed)
    random = [rest[i] for i in sorted(
        rng.choice(len(rest), min(count, len(rest)), replace=False))]
    return ([('best', s, ious[s]) for s in best] +
            [('worst', s, ious[s]) for s in worst] +
            [('random', s, ious[s]) for s in random])


# ------------------------------------------------------------------- html
_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px;text-align:left}
th{background:#f0f0f0} td.num{text-align:right}
h2{border-bottom:1px solid #888;margin-top:1.6em}
.gallery td{vertical-align:top} code{font-size:12px}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.2f}' if abs(value) >= 0.01 or value == 0 \
            else f'{value:.3g}'
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        return text if len(text) < 120 else text[:117] + '...'
    return str(value)


def _table(rows: List[Sequence[Any]], header: Sequence[str],
           cls: str = '') -> str:
    out = [f'<table class="{cls}">' if cls else '<table>', '<tr>']
    out += [f'<th>{_esc(h)}</th>' for h in header]
    out.append('</tr>')
    for row in rows:
        out.append('<tr>')
        for value in row:
            num = isinstance(value, (int, float)) and not isinstance(
                value, bool)
            out.append(f'<td class="num">{_esc(_format(value))}</td>'
                       if num else f'<td>{_esc(_format(value))}</td>')
        out.append('</tr>')
    out.append('</table>')
    return ''.join(out)


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{_esc(alt)}">'


def _flatten(value: Any, prefix: str = '') -> List[Tuple[str, Any]]:
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            rows += _flatten(item, f'{prefix}/{key}' if prefix else str(key))
        return rows
    return [(prefix, value)]


def _stage_label_map(writer: dict, stem: str,
                     num_classes: int) -> Optional[np.ndarray]:
    """The label map of a label-map or instance stage for an image (None
    where the stage has no file for it)."""
    path = osp.join(writer['path'], stem + writer['suffix'])
    if not osp.isfile(path):
        return None
    if writer['kind'] == 'label_maps':
        return read_label_map(path, num_classes)
    masks, _, labels = _instances(path)
    label = np.zeros(masks.shape[1:], np.uint8)
    # later (lower-scored) instances do not overwrite earlier ones
    for mask, cls in list(zip(masks, labels))[::-1]:
        label[mask.astype(bool)] = cls + 1
    return label


def _instances(path: str) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    """Masks, xyxy boxes and 0-based labels of an instance record (the
    ``detections`` of InstancePseudoMaskWriter, the ``objects`` of
    BBAMPseudoMaskWriter)."""
    record = load_record(path)
    items = record.get('detections', record.get('objects', []))
    shape = (record['height'], record['width'])
    masks = np.stack([decode_rle(i.get('segmentation', i.get('fg')))
                      for i in items]) if items else np.zeros((0, ) + shape,
                                                              np.uint8)
    boxes = np.array([i['bbox'] for i in items], np.float64).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]  # COCO xywh
    return masks, boxes, [int(i['label']) for i in items]


def _stage_ious(writers: List[dict], dataset: _Dataset
                ) -> Tuple[Dict[str, Dict[str, float]],
                           Dict[str, Dict[str, float]]]:
    """Per-image mIoU and per-class IoU (%) of every label-map and
    instance stage against the ground truth."""
    classes = dataset.classes
    image_ious: Dict[str, Dict[str, float]] = {}
    class_ious: Dict[str, Dict[str, float]] = {}
    for writer in writers:
        if writer['kind'] not in ('label_maps', 'instances'):
            continue
        confusion = np.zeros((len(classes), len(classes) + 1), np.int64)
        scores = {}
        for stem in writer['stems']:
            gt = dataset.gt(stem)
            pred = None if gt is None else _stage_label_map(
                writer, stem, len(classes) - 1)
            if pred is None:
                continue
            image_confusion = label_confusion(pred, gt, len(classes), True)
            confusion += image_confusion
            scores[stem] = _mean_present(_confusion_ious(image_confusion))
        if scores:
            image_ious[writer['name']] = scores
            class_ious[writer['name']] = dict(
                zip(classes, 100 * _confusion_ious(confusion)))
    return image_ious, class_ious


def _metrics_section(writers: List[dict], runs: List[dict]) -> List[str]:
    body = ['<h2 id="metrics">Stage metrics</h2>']
    for writer in writers:
        body.append(f'<h3>{_esc(writer["name"])} '
                    f'({_esc(writer["manifest"].get("writer", ""))}, '
                    f'{len(writer["stems"])} files)</h3>')
        run = writer['run']
        if run and run['test_metrics']:
            body.append(_table(sorted(run['test_metrics'].items()),
                               (f'metric ({run["name"]}/{run["stamp"]})',
                                'value')))
        report = writer['seed_report']
        if report:
            body.append(
                f'<p>seeds at background threshold '
                f'{_esc(report.get("best_threshold"))}: mIoU '
                f'{_format(report.get("miou"))}</p>')
            rows = [(name, *[s.get(k) for k in
                             ('iou', 'precision', 'recall', 'f1')])
                    for name, s in report['per_class'].items()]
            body.append(_table(rows, ('class', 'IoU', 'precision', 'recall',
                                      'F1')))
    if runs:
        body.append('<h3>Training runs (last validation)</h3>')
        rows = [(r['name'], r['stamp'], r['config'] or '-', k, v)
                for r in runs
                for k, v in sorted({**r['val_metrics'],
                                    **r['test_metrics']}.items())]
        body.append(_table(rows, ('run', 'stamp', 'config', 'metric',
                                  'value')))
    return body


def _plots_section(writers: List[dict], runs: List[dict],
                   class_ious: Dict[str, Dict[str, float]],
                   classes: List[str]) -> List[str]:
    body = ['<h2 id="plots">Plots</h2>']
    threshold_uri = _threshold_plot(writers)
    if threshold_uri:
        body.append('<h3>Seed mIoU vs background threshold</h3>')
        body.append(_img(threshold_uri, 'threshold sweep'))
    # the seeds' per-class IoU from their reports, the rest scored here
    bars = {f'{w["name"]} (seeds)': {
        name: s['iou'] for name, s in w['seed_report']['per_class'].items()}
        for w in writers if w['seed_report']}
    bars.update(class_ious)
    class_uri = _class_iou_plot(bars, classes)
    if class_uri:
        body.append('<h3>Per-class IoU of each stage</h3><p>Seeds from '
                    'their seed reports; label maps and instances scored '
                    'here against the ground truth (the ignore band of IR '
                    'labels counts as a miss).</p>')
        body.append(_img(class_uri, 'per-class IoU'))
    for run in [w['run'] for w in writers if w['run']] + runs:
        uri = _training_plot(run)
        if uri:
            body.append(f'<h3>Training: {_esc(run["name"])}</h3>')
            body.append(_img(uri, f'training curves {run["name"]}'))
    return body


def _provenance_section(writers: List[dict]) -> List[str]:
    rows = []
    for writer in writers:
        manifest = writer['manifest']
        config = manifest.get('config_file') or (
            writer['run']['config'] if writer['run'] else None)
        rows.append((writer['name'], manifest.get('writer', '-'),
                     config or '-', manifest.get('checkpoint') or '-',
                     manifest.get('checkpoint_sha256') or '-',
                     manifest.get('files_on_disk', '-'),
                     len(manifest.get('failures') or [])))
    return ['<h2 id="provenance">Provenance</h2>',
            _table(rows, ('folder', 'writer', 'config', 'checkpoint',
                          'checkpoint sha256', 'files', 'failures'))]


def build_report(work_dir: str,
                 gallery: int = 3,
                 data_root: Optional[str] = None,
                 max_cams: int = 2,
                 seed: int = 0) -> str:
    """The HTML page of a work dir.

    Sections: ``summary`` (``summary.json``, when present), ``metrics``
    (each writer stage's test metrics and seed report, the training runs'
    last validation), ``plots`` (threshold sweep, per-class IoU, training
    curves), ``gallery`` and ``provenance`` (config, checkpoint and its
    SHA-256 of each writer folder).

    Args:
        work_dir (str): The pipeline's work dir.
        gallery (int): Rows of each gallery group (best, worst, random by
            per-image mIoU of the last label-map or instance stage).
            Defaults to 3.
        data_root (str, optional): Dataset root (``JPEGImages``,
            ``SegmentationClass``); defaults to the one recorded in the
            writers' configs.
        max_cams (int): CAM panels per CAM stage in the gallery. Defaults
            to 2.
        seed (int): Seed of the random gallery rows. Defaults to 0.

    Returns:
        str: The page.
    """
    found = discover(work_dir)
    writers, runs = found['writers'], found['runs']
    recorded = next((w['data_root'] for w in writers if w['data_root']),
                    None)
    root = _resolve_root(data_root or recorded, found['work_dir'])
    root = root and osp.abspath(root)
    dataset = _Dataset(root, _classes(root, writers))
    body = [f'<h1>mmwsss run report: {_esc(found["work_dir"])}</h1>',
            f'<p>data root: <code>{_esc(root or recorded)}</code>'
            f'{"" if root else " (not found: no gallery)"}</p>']
    if found['summary']:
        body += ['<h2 id="summary">Summary</h2>',
                 _table(_flatten(found['summary']), ('entry', 'value'))]
    for name, record in found['stage_records'].items():
        body += [f'<h3>Stage record: {_esc(name)}</h3>',
                 _table(_flatten(record), ('entry', 'value'))]
    body += _metrics_section(writers, runs)
    image_ious, class_ious = _stage_ious(writers, dataset) if root else (
        {}, {})
    body += _plots_section(writers, runs, class_ious, dataset.classes)
    body.append('<h2 id="gallery">Gallery</h2>')
    final = next((w for w in writers[::-1] if w['name'] in image_ious),
                 None)
    if final is None:
        body.append('<p>No label-map or instance stage with ground truth: '
                    'no gallery.</p>')
    else:
        body.append(_gallery(dataset, writers, final,
                             image_ious[final['name']], gallery, max_cams,
                             seed))
    body += _provenance_section(writers)
    return ('<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<title>mmwsss report</title><style>{_CSS}</style></head>'
            f'<body>{"".join(body)}</body></html>')


def _stage_cell(writer: dict, image: np.ndarray, stem: str,
                classes: List[str], max_cams: int) -> Optional[np.ndarray]:
    """The panels of one stage's output for an image (None if absent)."""
    path = osp.join(writer['path'], stem + writer['suffix'])
    if not osp.isfile(path):
        return None
    if writer['kind'] == 'cams':
        report = writer['seed_report'] or {}
        threshold = report.get('best_threshold', DEFAULT_SEED_THRESHOLD)
        return _cam_cell(image, path, threshold, max_cams, classes)
    if writer['kind'] == 'label_maps':
        label = read_label_map(path, len(classes) - 1)
        return side_by_side([(writer['name'], draw_label_map(image, label))])
    masks, boxes, labels = _instances(path)
    return side_by_side([(writer['name'], draw_instances(
        image, masks, boxes, labels, classes[1:]))])


def _gallery(dataset: _Dataset, writers: List[dict], final: dict,
             ious: Dict[str, float], count: int, max_cams: int,
             seed: int) -> str:
    columns = [w for w in writers
               if w['kind'] in ('cams', 'label_maps', 'instances')]
    out = [f'<p>Rows ranked by per-image mIoU of <b>{_esc(final["name"])}'
           '</b> against the ground truth.</p><table class="gallery"><tr>'
           '<th>group</th><th>file</th><th>mIoU</th><th>image</th>']
    out += [f'<th>{_esc(w["name"])}</th>' for w in columns]
    out.append('<th>ground truth</th></tr>')
    for group, stem, iou in _pick_rows(ious, count, seed):
        image = dataset.image(stem)
        if image is None:
            continue
        cells = [side_by_side([('image', image)])]
        cells += [_stage_cell(w, image, stem, dataset.classes, max_cams)
                  for w in columns]
        cells.append(side_by_side([('ground truth',
                                    draw_label_map(image,
                                                   dataset.gt(stem)))]))
        out.append(f'<tr class="row-{group}" data-stem="{_esc(stem)}" '
                   f'data-iou="{iou:.6f}"><td>{group}</td>'
                   f'<td>{_esc(stem)}</td><td class="num">'
                   f'{100 * iou:.1f}</td>')
        out += ['<td>-</td>' if cell is None else
                f'<td>{_img(_png_uri(cell), stem)}</td>' for cell in cells]
        out.append('</tr>')
    out.append('</table>')
    return ''.join(out)


def write_report(work_dir: str, out_file: Optional[str] = None,
                 **kwargs) -> str:
    """Write :func:`build_report` to ``out_file``.

    Args:
        work_dir (str): The pipeline's work dir.
        out_file (str, optional): Destination; defaults to
            ``<work_dir>/report.html``.
        **kwargs: Arguments of :func:`build_report`.

    Returns:
        str: The path written.
    """
    out_file = out_file or osp.join(work_dir, 'report.html')
    page = build_report(work_dir, **kwargs)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with open(out_file, 'w', encoding='utf-8') as f:
        f.write(page)
    return out_file
