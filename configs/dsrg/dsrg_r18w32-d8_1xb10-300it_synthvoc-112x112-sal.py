# ./dsrg_r18w32-d8_1xb10-300it_synthvoc-112x112.py with DSRG's background
# cues from saliency maps (saliency < 0.06) instead of the CAMs: the pipeline
# gains mmwsss.LoadSaliencyMap before the seeds. SynthVOC writes saliency
# maps with --saliency (the union of the objects; --saliency-blur and
# --saliency-noise degrade them):
#   python tools/dataset_converters/generate_synthetic_voc.py data/synthvoc \
#       --saliency --saliency-blur 1.5 --saliency-noise 20 --overwrite
_base_ = ['./dsrg_r18w32-d8_1xb10-300it_synthvoc-112x112.py']

saliency_dir = 'data/synthvoc/Saliency'
crop_size = (112, 112)
mean_bgr = (104, 116, 124)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.LoadCAMFile', cam_dir={{_base_.cam_dir}},
         arrays=('keys', 'high_res')),
    dict(type='mmwsss.LoadSaliencyMap', saliency_dir=saliency_dir),
    dict(
        type='mmwsss.DSRGSeedsFromCAM',
        fg_threshold=0.2,
        saliency_bg_threshold=0.06),
    dict(
        type='mmwsss.RandomRescale',
        scale_range=(0.5, 1.5),
        interpolation='bilinear'),
    dict(
        type='mmwsss.RandomCropPad',
        crop_size=crop_size[0],
        pad_val=mean_bgr,
        seg_pad_val=255),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'ori_shape', 'img_shape', 'pad_shape',
                   'scale_factor', 'flip', 'flip_direction', 'gt_label')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
