# IRNet (IRN step 5) on the IR labels of VOC 2012 train_aug with the
# reference recipe: frozen ImageNet ResNet-50, crop 512, batch 32, 3 epochs,
# lr 0.1 (displacement branch 1.0), poly; the displacement mean is estimated
# on VOC train after the last epoch (mmwsss.DisplacementMeanShiftHook).
#   python tools/train.py configs/irn/irnet_r50_1xb32-3e_voc12aug-512.py
# Pseudo-masks: configs/irn/irnet-rw_r50_voc12aug.py with the checkpoint.
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/voc12aug_irnet.py',
    '../_base_/schedules/irn_poly_3e.py',
    '../_base_/default_runtime_cls.py',
]

default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
