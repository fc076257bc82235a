# IRNet (IRN step 5): boundary and displacement branches on a frozen
# ImageNet ResNet-50 (not the CAM classifier) at strides (4, 4, 8, 16, 16):
# mmpretrain ResNet with strides (1, 2, 2, 1), the stem tap after max pooling
# and the four stages. Training pairs: half disc of radius 10 on the stride-4
# grid of the 512 crops (128 x 128).
model = dict(
    type='mmwsss.IRNet',
    # images are loaded as RGB with PIL (mmwsss.LoadImageRGB)
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375]),
    backbone=dict(
        type='ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        out_indices=(0, 1, 2, 3),
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    in_channels=(64, 256, 512, 1024, 2048),
    radius=10,
    test_pad_size=512)

# On a CPU, tools/test.py runs the model with channels-last weights
# (mmwsss.ChannelsLastHook): test steps of the SynthVOC models 1.1-1.7x
# faster (benchmarks/channels_last.py), the same outputs to float rounding.
# Training runs as written (README, Performance). Set channels_last=False
# when adding a part whose kernels read NCHW memory directly (mmcv's CPU
# RoIAlign does).
cpu_cfg = dict(channels_last=True)
