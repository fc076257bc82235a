# SynthVOC semantic pseudo-masks of the train split (the CAMs' split).
_base_ = ['./voc12aug_irn_sem_seg.py']

data_root = 'data/synthvoc'
num_classes = 6
cam_dir = 'work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams'
pseudo_mask_dir = '{work_dir}/pseudo_masks'

sem_seg_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir,
         arrays=('keys', 'strided'),
         num_classes=num_classes),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.PackCAMInputs'),
]
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClass',
            ann_path='Annotations'),
        label_source='xml',
        pipeline=sem_seg_pipeline))
test_evaluator = [
    dict(type='mmwsss.PseudoMaskWriter', output_dir=pseudo_mask_dir),
    dict(type='mmwsss.PseudoMaskMetric'),
]
