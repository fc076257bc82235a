# SynthVOC instance pseudo-masks of the train split (the CAMs' split):
# per-image files, a merged COCO json with the image and category ids of
# annotations/instances_train.json, and their AP against SegmentationObject.
_base_ = ['./synthvoc_irn_sem_seg.py']

data_root = 'data/synthvoc'
instance_mask_dir = '{work_dir}/instance_masks'

test_evaluator = [
    dict(
        type='mmwsss.InstancePseudoMaskWriter',
        output_dir=instance_mask_dir,
        ann_file=instance_mask_dir + '.json',
        source_ann_file=data_root + '/annotations/instances_train.json'),
    dict(
        type='mmwsss.InstancePseudoMaskMetric',
        instance_dir=data_root + '/SegmentationObject'),
]
