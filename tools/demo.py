# Copyright (c) mmwsss contributors. All rights reserved.
"""The whole mmwsss pipeline on the bundled synthetic benchmark (SynthVOC).

Run by ``make demo`` (image-level labels: CAM, MoANA, IRNet, DeepLab) and
``make demo-box`` (``--branch box``, box labels: Faster R-CNN, BBAM, Mask
R-CNN). Every stage goes through the standard tools (``tools/train.py``,
``tools/test.py``) exactly as a user would run them, and every number in
``<work-dir>/summary.json`` is measured in this run by the project's metrics
against the generator's ground truth.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAM_CONFIG = 'configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'
MOANA_CONFIG = 'configs/moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py'
IR_LABEL_CONFIG = 'configs/irn/ir-label_r18w32-os16_synthvoc.py'
IRNET_CONFIG = 'configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py'
RW_CONFIG = 'configs/irn/irnet-rw_r18w32_synthvoc.py'
DEEPLAB_CONFIG = ('configs/deeplabv2/'
                  'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py')
DETECTOR_CONFIG = 'configs/bbam/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py'
BBAM_CONFIG = 'configs/bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py'
MASK_RCNN_CONFIG = (
    'configs/bbam/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py')
# The CAM folder of the IR-label and random-walk configs: the cam_dir of
# their mmwsss.LoadCAMFile, right after the image loading.
CAM_DIR_OPTION = 'test_dataloader.dataset.pipeline.1.cam_dir'

# SynthVOC per branch: the image-level branch draws every emblem as 2-3
# separate parts, so that CAMs reach into the object bodies as on VOC (with
# one emblem per object the classifier leaves bodies as cold as the
# background and IRN has nothing to propagate; configs/irn/README.md).
DEMO_DATA = dict(
    image=('data/synthvoc_parts', dict(emblem_parts=(2, 3))),
    box=('data/synthvoc', dict()))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--data-root',
        help='SynthVOC folder, generated when absent (default: '
        'data/synthvoc_parts for the image branch, data/synthvoc for box)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--branch',
        choices=['image', 'box'],
        default='image',
        help='image-level labels (make demo) or boxes (make demo-box)')
    parser.add_argument(
        '--device',
        choices=['auto', 'cpu', 'cuda'],
        default='auto',
        help='where the tools run: auto (a GPU when torch sees one, as '
        'tools/train.py and tools/test.py do), cpu (GPUs hidden), or cuda '
        '(stop unless torch sees a GPU)')
    return parser.parse_args()


def device_env(device):
    """Environment variables that make the tools use ``device``."""
    if device == 'cpu':
        return dict(CUDA_VISIBLE_DEVICES='')
    if device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            sys.exit('demo: --device cuda, but torch sees no CUDA device')
    return {}


# Set by main() from --device, for every tool run.
TOOL_ENV = {}


def run(cmd, log_file):
    """Run a tool, teeing its output into ``log_file``; stop on failure."""
    print('$ ' + ' '.join(cmd), flush=True)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
               os.environ.get('PYTHONPATH', ''), **TOOL_ENV)
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            if 'Epoch(' in line or 'mIoU' in line or 'Error' in line:
                print('  ' + line.rstrip()[-160:], flush=True)
        if proc.wait() != 0:
            sys.exit(f'demo: step failed, see {log_file}')


def fresh_output(path):
    """Empty a writer folder of an earlier demo run and return ``path``.

    Writers resume: they skip every item whose file exists, so a rerun
    after a config or code change would score the previous run's files.
    """
    shutil.rmtree(path, ignore_errors=True)
    return path


def last_scalars(work_dir, key):
    """The last logged record of ``scalars.json`` that holds ``key``."""
    found = None
    for path in sorted(glob.glob(osp.join(work_dir, '*/vis_data/scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if key in record:
                    found = record
    if found is None:
        sys.exit(f'demo: no "{key}" logged under {work_dir}')
    return found


def last_test_metrics(work_dir, key):
    """The metrics ``tools/test.py`` logged in its latest run under
    ``work_dir`` (``<stamp>/<stamp>.json``), which must hold ``key``."""
    stamps = sorted(d for d in os.listdir(work_dir)
                    if osp.isfile(osp.join(work_dir, d, d + '.json')))
    if not stamps:
        sys.exit(f'demo: no test metrics under {work_dir}')
    with open(osp.join(work_dir, stamps[-1], stamps[-1] + '.json')) as f:
        record = json.loads(f.readlines()[-1])
    if key not in record:
        sys.exit(f'demo: "{key}" missing from the metrics under {work_dir}')
    return record


def cam_stage(py, config, tag, data_opt, work_dir):
    """Train a CAM classifier, write its CAMs and score them as seeds.

    Returns the summary entries ``<tag>_cls_map``, ``<tag>_seed_*`` and their
    ``_seconds``, plus ``<tag>_seeds`` (the seed metric's full report),
    ``<tag>_cams`` (the CAM folder) and ``<tag>_checkpoint`` (the
    classifier), which are not summary entries.
    """
    out = {}
    t0 = time.time()
    train_dir = osp.join(work_dir, f'{tag}_classifier')
    run([py, 'tools/train.py', config, '--work-dir', train_dir,
         '--cfg-options', *data_opt],
        osp.join(work_dir, f'train_{tag}.log'))
    record = last_scalars(train_dir, 'multi-label/mAP')
    out[f'{tag}_cls_map'] = round(record['multi-label/mAP'], 2)
    out[f'{tag}_cls_map_seconds'] = round(time.time() - t0, 1)

    t0 = time.time()
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    seeds_json = osp.join(work_dir, f'{tag}_seeds.json')
    cam_dir = fresh_output(
        osp.join(work_dir, 'cams' if tag == 'cam' else f'cams_{tag}'))
    run([py, 'tools/test.py', config, checkpoint, '--work-dir',
         osp.join(work_dir, f'{tag}_cams_run'), '--cfg-options', *data_opt,
         f'test_evaluator.0.output_dir={cam_dir}',
         f'test_evaluator.1.out_file={seeds_json}'],
        osp.join(work_dir, f'make_{tag}_cams.log'))
    with open(seeds_json) as f:
        seeds = json.load(f)
    out[f'{tag}_seed_miou'] = round(seeds['miou'], 2)
    out[f'{tag}_seed_threshold'] = seeds['best_threshold']
    out[f'{tag}_seed_precision'] = round(seeds['mean_precision'], 2)
    out[f'{tag}_seed_recall'] = round(seeds['mean_recall'], 2)
    out[f'{tag}_seed_miou_seconds'] = round(time.time() - t0, 1)
    out[f'{tag}_seeds'] = seeds
    out[f'{tag}_cams'] = cam_dir
    out[f'{tag}_checkpoint'] = checkpoint
    return out


def irn_stage(py, data_root, work_dir, cam_dir, classifier):
    """IR labels -> IRNet -> random-walk pseudo-masks -> DeepLab-v2.

    Each step is one standard tool run on the previous step's files:
    ``tools/test.py`` writes the IR labels of the CAMs in ``cam_dir``
    (scored against the train ground truth), ``tools/train.py`` trains IRNet
    on them (its frozen backbone is the CAM ``classifier``'s), ``tools/
    test.py`` writes and scores the semantic pseudo-masks, and ``tools/
    train.py`` trains DeepLab-v2 on them, validated on the val ground truth.

    Returns the summary entries ``ir_label_precision``, ``pseudo_mask_miou``,
    ``deeplab_val_miou``, each with its ``_seconds``, and a few companions.
    """
    out = {}
    root = [f'test_dataloader.dataset.data_root={data_root}']
    ir_dir = fresh_output(osp.join(work_dir, 'ir_labels'))
    t0 = time.time()
    run_dir = osp.join(work_dir, 'ir_labels_run')
    run([py, 'tools/test.py', IR_LABEL_CONFIG, classifier, '--work-dir',
         run_dir, '--cfg-options', *root, f'{CAM_DIR_OPTION}={cam_dir}',
         f'test_evaluator.0.output_dir={ir_dir}'],
        osp.join(work_dir, 'make_ir_labels.log'))
    record = last_test_metrics(run_dir, 'ir_label/precision')
    out['ir_label_precision'] = round(record['ir_label/precision'], 2)
    out['ir_label_labelled'] = round(record['ir_label/labelled'], 2)
    out['ir_label_precision_seconds'] = round(time.time() - t0, 1)

    t0 = time.time()
    irnet_dir = osp.join(work_dir, 'irnet')
    run([py, 'tools/train.py', IRNET_CONFIG, '--work-dir', irnet_dir,
         '--cfg-options', f'model.backbone.init_cfg.checkpoint={classifier}',
         f'train_dataloader.dataset.data_root={data_root}',
         f'train_dataloader.dataset.ir_label_dir={ir_dir}',
         f'custom_hooks.0.dataloader.dataset.data_root={data_root}'],
        osp.join(work_dir, 'train_irnet.log'))
    out['irnet_train_seconds'] = round(time.time() - t0, 1)

    t0 = time.time()
    with open(osp.join(irnet_dir, 'last_checkpoint')) as f:
        irnet = f.read().strip()
    mask_dir = fresh_output(osp.join(work_dir, 'pseudo_masks'))
    run_dir = osp.join(work_dir, 'pseudo_masks_run')
    run([py, 'tools/test.py', RW_CONFIG, irnet, '--work-dir', run_dir,
         '--cfg-options', *root, f'{CAM_DIR_OPTION}={cam_dir}',
         f'test_evaluator.0.output_dir={mask_dir}'],
        osp.join(work_dir, 'make_pseudo_masks.log'))
    record = last_test_metrics(run_dir, 'pseudo_mask/mIoU')
    out['pseudo_mask_miou'] = round(record['pseudo_mask/mIoU'], 2)
    out['pseudo_mask_precision'] = round(record['pseudo_mask/mPrecision'], 2)
    out['pseudo_mask_recall'] = round(record['pseudo_mask/mRecall'], 2)
    out['pseudo_mask_miou_seconds'] = round(time.time() - t0, 1)

    t0 = time.time()
    deeplab_dir = osp.join(work_dir, 'deeplab')
    run([py, 'tools/train.py', DEEPLAB_CONFIG, '--work-dir', deeplab_dir,
         '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
         f'train_dataloader.dataset.pseudo_mask_dir={mask_dir}',
         f'val_dataloader.dataset.data_root={data_root}',
         f'test_dataloader.dataset.data_root={data_root}'],
        osp.join(work_dir, 'train_deeplab.log'))
    out['deeplab_val_miou'] = round(
        last_scalars(deeplab_dir, 'mIoU')['mIoU'], 2)
    out['deeplab_val_miou_seconds'] = round(time.time() - t0, 1)
    return out


def box_stage(py, data_root, work_dir):
    """Faster R-CNN on the boxes -> BBAM pseudo-masks -> Mask R-CNN.

    ``tools/train.py`` trains the detector on the train boxes, ``tools/
    test.py`` runs BBAM on (the config's first 100) train images and scores
    its pseudo-masks against the generator's masks next to the filled-box
    baseline (``mmwsss.BoxPseudoMaskMetric``), and ``tools/train.py`` trains
    Mask R-CNN, initialised from the detector, on the pseudo-masks,
    evaluated by mmdet's CocoMetric (``segm``) on the val masks.
    """
    out = {}
    ann_val = osp.join(data_root, 'annotations', 'instances_val.json')
    eval_opt = [f'val_dataloader.dataset.data_root={data_root}',
                f'test_dataloader.dataset.data_root={data_root}',
                f'val_evaluator.ann_file={ann_val}',
                f'test_evaluator.ann_file={ann_val}']
    t0 = time.time()
    detector_dir = osp.join(work_dir, 'faster_rcnn')
    run([py, 'tools/train.py', DETECTOR_CONFIG, '--work-dir', detector_dir,
         '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
         *eval_opt],
        osp.join(work_dir, 'train_faster_rcnn.log'))
    out['detector_bbox_ap50'] = round(
        100 * last_scalars(detector_dir, 'coco/bbox_mAP_50')[
            'coco/bbox_mAP_50'], 2)
    out['detector_train_seconds'] = round(time.time() - t0, 1)

    t0 = time.time()
    with open(osp.join(detector_dir, 'last_checkpoint')) as f:
        detector = f.read().strip()
    bbam_dir = fresh_output(osp.join(work_dir, 'bbam'))
    fg_json = osp.join(bbam_dir, 'instances_train_fg85.json')
    ignore_json = osp.join(bbam_dir, 'instances_train_ignore20.json')
    bbam_run = osp.join(work_dir, 'bbam_run')
    run([py, 'tools/test.py', BBAM_CONFIG, detector, '--work-dir', bbam_run,
         '--cfg-options', f'test_dataloader.dataset.data_root={data_root}',
         f'test_evaluator.0.output_dir={bbam_dir}/maps',
         f'test_evaluator.1.output_dir={bbam_dir}/masks',
         f'test_evaluator.1.fg_ann_file={fg_json}',
         f'test_evaluator.1.ignore_ann_file={ignore_json}',
         f'test_evaluator.1.semantic_dir={bbam_dir}/semantic'],
        osp.join(work_dir, 'bbam.log'))
    scores = last_test_metrics(bbam_run, 'box_pseudo_mask/mIoU')
    for key, name in (('mIoU', 'bbam_pseudo_miou'),
                      ('box_mIoU', 'box_baseline_miou'),
                      ('mask_AP', 'bbam_pseudo_mask_ap'),
                      ('box_mask_AP', 'box_baseline_mask_ap'),
                      ('mean_instance_IoU', 'bbam_mean_instance_iou')):
        out[name] = round(scores[f'box_pseudo_mask/{key}'], 2)
    out['bbam_seconds'] = round(time.time() - t0, 1)

    t0 = time.time()
    mask_rcnn_dir = osp.join(work_dir, 'mask_rcnn')
    run([py, 'tools/train.py', MASK_RCNN_CONFIG, '--work-dir', mask_rcnn_dir,
         '--cfg-options', f'train_dataloader.dataset.ann_file={fg_json}',
         f'train_dataloader.dataset.ignore_ann_file={ignore_json}',
         'train_dataloader.dataset.data_prefix.img='
         f'{osp.join(data_root, "JPEGImages")}/', f'load_from={detector}',
         *eval_opt],
        osp.join(work_dir, 'train_mask_rcnn.log'))
    record = last_scalars(mask_rcnn_dir, 'coco/segm_mAP_50')
    out['maskrcnn_segm_ap50'] = round(100 * record['coco/segm_mAP_50'], 2)
    out['maskrcnn_segm_ap'] = round(100 * record['coco/segm_mAP'], 2)
    out['maskrcnn_train_seconds'] = round(time.time() - t0, 1)
    return out


def check_knobs(data_root, knobs):
    """Stop when an existing SynthVOC folder was generated with other
    values of the knobs this branch relies on."""
    with open(osp.join(data_root, 'meta.json')) as f:
        found = json.load(f)['knobs']
    for name, value in knobs.items():
        if list(found.get(name, ())) != list(value):
            sys.exit(f'demo: {data_root} was generated with {name}='
                     f'{found.get(name)}, this branch needs {list(value)}; '
                     'remove the folder or pass another --data-root')


def chance_seed_miou(data_root, cam_dir, seed=0):
    """Seed mIoU of uniformly random CAMs (same classes, same threshold
    sweep and metric): the chance level the real seeds are compared with."""
    from mmengine.dataset import Compose

    from mmwsss.datasets import VOCWSSSDataset
    from mmwsss.datasets.transforms import (LoadCAMFile, LoadLabelMap,
                                            PackCAMInputs)
    from mmwsss.evaluation import CAMSeedMetric
    dataset = VOCWSSSDataset(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages',
                         seg_map_path='SegmentationClass',
                         ann_path='Annotations'))
    # Each image's CAM classes and ground truth, in its data sample.
    dataset.pipeline = Compose([
        LoadCAMFile(cam_dir, arrays=('keys', )),
        LoadLabelMap(num_classes=len(dataset.metainfo['classes'])),
        PackCAMInputs()
    ])
    metric = CAMSeedMetric()
    metric.dataset_meta = dataset.metainfo
    rng = np.random.default_rng(seed)
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        metric.process(None, [dict(
            cam_high_res=rng.random((len(sample.cam_keys), ) +
                                    sample.gt_sem_seg.shape),
            cam_keys=sample.cam_keys, gt_sem_seg=sample.gt_sem_seg.to_dict())])
    return metric.compute_metrics(metric.results)['mIoU']


def main():
    args = parse_args()
    TOOL_ENV.update(device_env(args.device))
    work_dir = osp.abspath(args.work_dir)
    data_root, knobs = DEMO_DATA[args.branch]
    data_root = args.data_root or data_root
    os.makedirs(work_dir, exist_ok=True)
    py = sys.executable
    data_opt = [f'train_dataloader.dataset.data_root={data_root}',
                f'val_dataloader.dataset.data_root={data_root}',
                f'test_dataloader.dataset.data_root={data_root}']
    summary = {}

    t0 = time.time()
    if not osp.isfile(osp.join(data_root, 'meta.json')):
        knob_args = []
        for name, value in knobs.items():
            knob_args += ['--' + name.replace('_', '-'), *map(str, value)]
        run([py, 'tools/dataset_converters/generate_synthetic_voc.py',
             data_root, '--seed', str(args.seed), *knob_args],
            osp.join(work_dir, 'generate.log'))
    check_knobs(data_root, knobs)
    summary['generate_seconds'] = round(time.time() - t0, 1)
    if args.branch == 'box':
        summary.update(box_stage(py, data_root, work_dir))
        report(summary, work_dir)
        return

    # 1-2. CAM classifier (tools/train.py), then its CAMs through
    # tools/test.py (writer + seed metric in one run)
    stages = dict(cam=cam_stage(py, CAM_CONFIG, 'cam', data_opt, work_dir))
    summary.update(stages['cam'])
    seeds = summary.pop('cam_seeds')
    for key in ('cls_map', 'cls_map_seconds'):
        summary[key] = summary.pop(f'cam_{key}')
    summary['cam_seed_per_class_iou'] = {
        name: round(s['iou'], 2) for name, s in seeds['per_class'].items()}
    summary['cam_seed_fg_recall'] = round(float(np.mean(
        [s['recall'] for name, s in seeds['per_class'].items()
         if name != 'background'])), 2)
    summary['cam_seed_chance_miou'] = round(
        chance_seed_miou(data_root, stages['cam']['cam_cams']), 2)
    # 3. The same classifier with the MoANA neck, side by side
    stages['moana'] = cam_stage(py, MOANA_CONFIG, 'moana', data_opt, work_dir)
    summary.update(stages['moana'])
    for tag in stages:
        for key in ('seeds', 'cams', 'checkpoint'):
            summary.pop(f'{tag}_{key}', None)
    # 4-7. IR labels, IRNet, pseudo-masks and DeepLab from the better of
    # the two seed sets, as a user would continue
    tag = max(stages, key=lambda t: stages[t][f'{t}_seed_miou'])
    summary['irn_input'] = tag
    summary.update(
        irn_stage(py, data_root, work_dir, stages[tag][f'{tag}_cams'],
                  stages[tag][f'{tag}_checkpoint']))
    report(summary, work_dir)


def report(summary, work_dir):
    """Write ``summary.json`` and print it as a table."""
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\nmmwsss demo on SynthVOC (measured in this run)')
    print(f'{"metric":<28}{"value":>12}')
    for key, value in summary.items():
        if isinstance(value, dict):
            for name, v in value.items():
                print(f'  {key[:-4] + name:<26}{v:>12}')
        else:
            print(f'{key:<28}{value:>12}')
    print(f'\nsummary: {osp.join(work_dir, "summary.json")}')


if __name__ == '__main__':
    main()
