# Ablation (dissertation Fig. 5.7a): BBAM explains the same noisy boxes
# (+-20 %, seeded per image) as its detector
# ./faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240_noisy-box20.py was trained
# on; otherwise ./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py. The metric
# still scores the pseudo-masks against the real masks. Train the Mask R-CNN
# on them by moving its bbam_dir (its ann_file and ignore_ann_file lie there):
#   --cfg-options bbam_dir=work_dirs/bbam_faster-rcnn_r18w32_fpn_synthvoc-240_noisy-box20/bbam
_base_ = ['./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py']

box_noise = dict(type='mmwsss.JitterBoxes', ratio=0.2, mode='random', seed=0)
bbam_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.KeepOriginalImage'),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    # in the original frame, as in the detector's training pipeline
    box_noise,
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'ori_img'))
]
test_dataloader = dict(dataset=dict(pipeline=bbam_pipeline))
