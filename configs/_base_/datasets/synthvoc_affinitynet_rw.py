# SynthVOC AffinityNet random-walk pseudo-masks of the train split (the
# CAMs' split), from the full-resolution CAMs.
_base_ = ['./synthvoc_irn_sem_seg.py']

num_classes = 6
cam_dir = 'work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams'
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
