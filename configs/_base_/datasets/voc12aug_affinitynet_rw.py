# AffinityNet random-walk pseudo-masks (PSA infer_aff.py): the data of the
# IRN semantic pseudo-masks (VOC 2012 train_aug, full resolution), with the
# full-resolution CAMs (PSA walks the CAMs at image size, average-pooled to
# the stride-8 grid). Another CAM folder:
# --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
_base_ = ['./voc12aug_irn_sem_seg.py']

num_classes = 20
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams'
pseudo_mask_dir = '{work_dir}/pseudo_masks'

sem_seg_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir,
         arrays=('keys', 'high_res')),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.PackCAMInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=sem_seg_pipeline))
test_evaluator = [
    dict(type='mmwsss.PseudoMaskWriter', output_dir=pseudo_mask_dir),
    dict(type='mmwsss.PseudoMaskMetric'),
]
