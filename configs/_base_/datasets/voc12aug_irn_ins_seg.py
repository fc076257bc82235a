# Instance pseudo-masks (IRN make_ins_seg_labels) of VOC 2012 `train` (1464
# images, IRN's infer_list: SegmentationObject exists for VOC 2012 images
# only, not for SBD's), scored by AP@0.5 against SegmentationObject with the
# classes of SegmentationClass. The CAMs of train_aug cover train.
# VOC has no COCO json: the merged json numbers the images 1..N in id order.
_base_ = ['./voc12aug_irn_sem_seg.py']

data_root = 'data/VOCdevkit/VOC2012'
instance_mask_dir = '{work_dir}/instance_masks'

test_dataloader = dict(
    dataset=dict(
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            seg_map_path='SegmentationClass', ann_path='Annotations'),
        label_source='xml'))
test_evaluator = [
    dict(
        type='mmwsss.InstancePseudoMaskWriter',
        output_dir=instance_mask_dir,
        ann_file=instance_mask_dir + '.json'),
    dict(
        type='mmwsss.InstancePseudoMaskMetric',
        instance_dir=data_root + '/SegmentationObject'),
]
