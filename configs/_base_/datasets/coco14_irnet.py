# IRNet training data on COCO 2014 train2014 with its IR labels, as RIB's
# train_irn_coco.py: IRN's augmentation (./voc12aug_irnet.py: random rescale
# 0.5-1.5, flip, random 512 crop padded with the mean colour / 255, label
# reduced to the 128 x 128 stride-4 grid); the displacement mean is
# estimated on top-left 512 crops of train2014 (the reference's infer list;
# batch 32, drop_last).
_base_ = ['./voc12aug_irnet.py']

data_root = 'data/coco2014'
num_classes = 80
ir_label_dir = 'work_dirs/ir-label_r50-os16_coco14/ir_labels'

train_pipeline = [
    dict(step, num_classes=num_classes) if 'num_classes' in step else step
    for step in _base_.train_pipeline
]

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(img_path='train2014'),
        ir_label_dir=ir_label_dir,
        pipeline=train_pipeline))
custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        dataloader=dict(
            _base_.custom_hooks[0].dataloader,
            dataset=dict(
                _base_.custom_hooks[0].dataloader.dataset,
                data_root=data_root,
                ann_file='ImageSets/train2014.txt',
                data_prefix=dict(
                    img_path='train2014',
                    seg_map_path='SegmentationClass/train2014'),
                label_source='seg')))
]
