# Ablation (dissertation Fig. 5.7a): the detector learns from noisy box
# labels, every coordinate moved by up to +-20 % of the box side (seeded per
# image, so ./bbam_faster-rcnn_r18w32_fpn_synthvoc-240_noisy-box20.py sees
# the same boxes); otherwise ./faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py.
# mode='expand' / 'shrink' gives the enlarged / shrunk boxes of the figure.
_base_ = ['./faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py']

box_noise = dict(type='mmwsss.JitterBoxes', ratio=0.2, mode='random', seed=0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    box_noise,
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
