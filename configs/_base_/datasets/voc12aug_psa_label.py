# PSA's la/ha labels (infer_cls.py) for VOC 2012 train_aug from the CAM
# files of configs/cam in cam_dir, scored against SegmentationClassAug: the
# IR-label job's data (full-resolution CAMs, no resizing), another folder.
_base_ = ['./voc12aug_ir_label.py']

# The confident labels AffinityNet trains on (IRLabelDataset's ir_label_dir).
ir_label_dir = '{work_dir}/psa_labels'
test_evaluator = [
    dict(type='mmwsss.IRLabelWriter', output_dir=ir_label_dir),
    dict(type='mmwsss.IRLabelMetric'),
]
