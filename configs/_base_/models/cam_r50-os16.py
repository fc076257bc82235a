# IRN-style multi-label CAM classifier: ImageNet ResNet-50 at output stride 16
# (strides 1, 2, 2, 1), conv1..layer2 frozen (the reference detaches after
# layer2), every BatchNorm fixed (the reference's FixedBatchNorm), GAP and a
# bias-free 1x1 conv classifier trained with the multi-label soft-margin loss.
model = dict(
    type='mmwsss.CAMClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=20,
        # images are loaded as RGB with PIL (mmwsss.LoadImageRGB)
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=False,
        to_onehot=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(3, ),
        frozen_stages=2,
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(
        type='mmwsss.CAMHead',
        num_classes=20,
        in_channels=2048,
        bias=False,
        loss=dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True)))

# On a CPU, tools/test.py runs the model with channels-last weights
# (mmwsss.ChannelsLastHook): test steps of the SynthVOC models 1.1-1.7x
# faster (benchmarks/channels_last.py), the same outputs to float rounding.
# Training runs as written (README, Performance). Set channels_last=False
# when adding a part whose kernels read NCHW memory directly (mmcv's CPU
# RoIAlign does).
cpu_cfg = dict(channels_last=True)
