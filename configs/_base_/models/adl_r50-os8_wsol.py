# Attention-based Dropout Layer (Choe and Shim, CVPR 2019) in the
# wsolevaluation protocol: the ResNet-50 CAM model with an ADL layer after
# the first block of layer3 and after the first and third blocks of layer4
# (wsolevaluation's positions; mmwsss.ADLBackbone hooks them in, so the
# torchvision weights load unchanged). In training each layer multiplies its
# input by the drop mask (attention < 0.76 max) with probability 0.24, else
# by the sigmoid importance map; in test ADL is the identity.
# Method values: the protocol's ResNet-50 CUB search (see
# configs/wsol_baselines/README.md).
_base_ = ['./cam_r50-os8_wsol.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmwsss.ADLBackbone',
        backbone=dict(
            type='ResNet',
            depth=50,
            strides=(1, 2, 1, 1),
            out_indices=(3, ),
            style='pytorch',
            init_cfg=dict(
                type='Pretrained', checkpoint='torchvision://resnet50')),
        adl_after=('layer3.0', 'layer4.0', 'layer4.2'),
        drop_rate=0.24,
        drop_threshold=0.76))
