# RIB + S: DeepLab-v2 on the RIB pseudo-masks of VOC train_aug
# (configs/rib/irnet-rw_r50_voc12aug-rib.py writes them), with salient object
# supervision as in the dissertation (§3.4, Table 3.7): a pseudo-mask pixel
# is ignored where the saliency map disagrees with it (foreground labelled
# where the saliency says background, or background where it says
# foreground; saliency binarised at 0.5, mmwsss.SaliencyIgnore). Everything
# else is ../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py.
#   python tools/train.py configs/rib/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321-rib-sal.py
_base_ = [
    '../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py'
]

pseudo_mask_dir = 'work_dirs/irnet-rw_r50_voc12aug-rib/pseudo_masks'
# One grey PNG per image (0..255), e.g. the saliency maps of Li et al. or
# Yao et al. that the dissertation used.
saliency_dir = 'data/VOCdevkit/VOC2012/Saliency'
crop_size = (321, 321)
mean_bgr = (104, 116, 124)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.LoadPseudoLabel', num_classes=21),
    dict(type='mmwsss.LoadSaliencyMap', saliency_dir=saliency_dir),
    dict(type='mmwsss.SaliencyIgnore', threshold=0.5),
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
    dataset=dict(pseudo_mask_dir=pseudo_mask_dir, pipeline=train_pipeline))
