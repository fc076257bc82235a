# DeepLab-v2 (ResNet-101, ASPP-L) trained by DSRG on VOC 2012 train_aug from
# CAM seeds with saliency background cues, validated on VOC val with the real
# ground truth. Recipe of the DSRG reference (speedinghzl/DSRG,
# training/experiment/seed_mc: train-s.prototxt, solver-s.prototxt): images
# resized to 321x321 and mirrored, batch 20, SGD lr 5e-4 (classifier weights
# x10, biases x20 without weight decay), momentum 0.9, weight decay 5e-4, lr
# x0.33 every 1000 iterations, 8000 iterations; region growing th1 0.99 /
# th2 0.85, CRF scale factor 12 (41x41 score maps). Seeds: CAM > 0.2 of its
# maximum (foreground), saliency < 0.06 (background), computed on the fly
# from the CAM files (mmwsss.DSRGSeedsFromCAM).
# Differences: our DeepLab-v2 ResNet-101 with frozen BatchNorm (the
# reference's network is VGG-16 DeepLab-ASPP); our CAMs (configs/cam)
# instead of the reference's SEC localisation cues; one cue per pixel (the
# reference's cue files may hold several).
#   python tools/train.py configs/dsrg/dsrg_r101-d8_1xb20-8k_voc12aug-321x321.py
_base_ = ['../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py']

# CAM files with full-resolution maps (configs/cam, test_evaluator CAMWriter).
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams'
# One grey PNG per image (e.g. DRFI saliency, as DSRG), 0..255.
saliency_dir = 'data/VOCdevkit/VOC2012/Saliency'
image_size = (321, 321)

model = dict(
    type='mmwsss.DSRGEncoderDecoder',
    decode_head=dict(
        type='mmwsss.DSRGHead', th1=0.99, th2=0.85, crf_scale_factor=12.0))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir,
         arrays=('keys', 'high_res')),
    dict(type='mmwsss.LoadSaliencyMap', saliency_dir=saliency_dir),
    dict(
        type='mmwsss.DSRGSeedsFromCAM',
        fg_threshold=0.2,
        saliency_bg_threshold=0.06),
    dict(type='Resize', scale=image_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    # gt_label (the image's classes) reaches DSRGHead through the metainfo.
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'ori_shape', 'img_shape', 'pad_shape',
                   'scale_factor', 'flip', 'flip_direction', 'gt_label')),
]
train_dataloader = dict(
    batch_size=20,
    dataset=dict(
        _delete_=True,
        type='mmwsss.VOCWSSSDataset',
        data_root={{_base_.data_root}},
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClassAug',
            ann_path='Annotations'),
        label_source='seg',
        pipeline=train_pipeline))

max_iters = 8000
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(
        type='StepLR',
        step_size=1000,
        gamma=0.33,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
