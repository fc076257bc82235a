# IRNet (IRN step 5) on the IR labels of COCO 2014 train2014, IRN's recipe as
# RIB's train_irn_coco.py runs it: frozen ImageNet ResNet-50, crop 512, batch
# 32, 3 epochs, lr 0.1 (displacement branch 1.0), poly; the displacement
# mean is estimated on train2014 after the last epoch.
#   python tools/train.py configs/irn/irnet_r50_1xb32-3e_coco14-512.py
# Pseudo-masks: configs/irn/irnet-rw_r50_coco14.py with the checkpoint.
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/coco14_irnet.py',
    '../_base_/schedules/irn_poly_3e.py',
    '../_base_/default_runtime_cls.py',
]

default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
