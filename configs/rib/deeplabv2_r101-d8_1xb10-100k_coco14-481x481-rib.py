# DeepLab-v2 on the RIB pseudo-masks of COCO 2014 train2014
# (configs/rib/irnet-rw_r50_coco14-rib.py writes them), the RIB row of
# dissertation Table 3.8 (43.8 val mIoU); everything else is
# ../deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py.
#   python tools/train.py configs/rib/deeplabv2_r101-d8_1xb10-100k_coco14-481x481-rib.py
_base_ = [
    '../deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py'
]

pseudo_mask_dir = 'work_dirs/irnet-rw_r50_coco14-rib/pseudo_masks'
train_dataloader = dict(dataset=dict(pseudo_mask_dir=pseudo_mask_dir))
