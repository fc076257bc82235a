# DeepLab-v2 (ResNet-101, ASPP-L) trained on the semantic pseudo-masks of
# COCO 2014 train2014 (81 classes: background + 80) and validated on the
# 40,137 val2014 images with instances against the converted masks (crowd
# regions ignored): the last stage of the COCO rows of IRN, AdvCAM and RIB
# (dissertation Table 3.8). The VOC recipe of
# ./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py with the COCO
# settings of the papers and of the DeepLab-v2 PyTorch code they used: 481
# crops (dissertation §3.4.4: "481x481 rather than 321x321 ... considering
# the size of the images"), 100k iterations of batch 10 (deeplab-pytorch
# configs/coco.yaml and cocostuff164k.yaml: batch 5 x 2 accumulated, lr
# 2.5e-4, poly 0.9), ImageNet initialisation.
#   python tools/train.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py \
#       [--cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR]
#   python tools/test.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py CKPT --tta
_base_ = ['./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py']

data_root = 'data/coco2014'
# Written by configs/irn/irnet-rw_r50_coco14.py (IRN); any other folder:
# --cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR
pseudo_mask_dir = 'work_dirs/irnet-rw_r50_coco14/pseudo_masks'
num_classes = 81
crop_size = (481, 481)
mean_bgr = (104, 116, 124)

data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.LoadPseudoLabel', num_classes=num_classes),
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
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(img_path='train2014'),
        pseudo_mask_dir=pseudo_mask_dir,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014')))
test_dataloader = val_dataloader

max_iters = 100000
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
# val2014 is 40k images: validated twice
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=50000)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=1))
