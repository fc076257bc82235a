# DeepLab-v2 on the W-OoD pseudo-masks of COCO 2014 train2014
# (configs/wood/irnet-rw_r50_coco14-wood.py writes them); everything else is
# ../deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py. The
# paper reports no COCO result for W-OoD.
#   python tools/train.py configs/wood/deeplabv2_r101-d8_1xb10-100k_coco14-481x481-wood.py
_base_ = [
    '../deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py'
]

pseudo_mask_dir = 'work_dirs/irnet-rw_r50_coco14-wood/pseudo_masks'
train_dataloader = dict(dataset=dict(pseudo_mask_dir=pseudo_mask_dir))
