# Copyright (c) mmwsss contributors. All rights reserved.
"""configs/pipelines: every stage's config and script exists, every stage
config takes the stage's overrides, and the demo pipelines keep their
stages in the order of the demo's figures."""
import glob
import os.path as osp

import pytest

from mmwsss.apis import load_pipeline, stage_fingerprint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINES = sorted(
    osp.relpath(path, ROOT)
    for path in glob.glob(osp.join(ROOT, 'configs', 'pipelines', '*.py')))


@pytest.mark.parametrize('path', PIPELINES)
def test_stages_resolve(path):
    _, stages = load_pipeline(osp.join(ROOT, path))
    for stage in stages:
        target = stage.config or stage.script
        assert osp.isfile(osp.join(ROOT, target)), (stage.name, target)
        # parses the stage config and applies its cfg_options
        assert len(stage_fingerprint(stage, ROOT, {})) == 64


def test_demo_pipelines():
    _, image = load_pipeline(
        osp.join(ROOT, 'configs/pipelines/irn_r18w32_synthvoc-demo.py'))
    assert [s.name for s in image] == [
        'synthvoc', 'cam', 'cam_seeds', 'cam_chance', 'moana', 'moana_seeds',
        'ir_labels', 'irnet', 'pseudo_masks', 'deeplab', 'deeplab_predictions'
    ]
    by_name = {s.name: s for s in image}
    # the segmenter predicts the images of the other stages (the report's
    # gallery rows) and its writer fills the stage's output folder
    predictions = by_name['deeplab_predictions']
    assert predictions.inputs()[0] == ('deeplab', 'checkpoint')
    assert predictions.cfg_options['test_dataloader.dataset.ann_file'] == (
        'ImageSets/Segmentation/train.txt')
    assert predictions.cfg_options['test_evaluator.1.output_dir'] == (
        '{deeplab_predictions.predictions}')
    # IRN continues from the MoANA classifier and its CAMs
    assert ('moana_seeds', 'cams') in by_name['ir_labels'].inputs()
    assert by_name['irnet'].inputs()[0] == ('moana', 'checkpoint')
    _, box = load_pipeline(
        osp.join(ROOT, 'configs/pipelines/bbam_r18w32_synthvoc-demo.py'))
    assert [s.name for s in box] == [
        'synthvoc', 'faster_rcnn', 'bbam', 'mask_rcnn'
    ]
