# FickleNet on the IRN CAM classifier (ResNet-50, output stride 16, VOC 2012
# train_aug, crop 512, batch 16, 5 epochs, lr 0.1 / head x10, poly): the 1x1
# classifier becomes a 3x3 one with FickleNet dropout (map expansion; dropout
# 0.9 of the off-centre hidden units, centres kept, masks shared by the
# channels) at training and inference; CAMs are the per-pixel max over 32
# stochastic multi-scale + flip maps per image.
# Train: python tools/train.py configs/ficklenet/ficklenet_r50-os16_1xb16-5e_voc12aug-512.py
# CAMs:  bash tools/dist_test.sh configs/ficklenet/ficklenet_r50-os16_1xb16-5e_voc12aug-512.py \
#            work_dirs/ficklenet_r50-os16_1xb16-5e_voc12aug-512/epoch_5.pth 8
_base_ = ['../cam/cam_r50-os16_1xb16-5e_voc12aug-512.py']

model = dict(
    type='mmwsss.FickleNetClassifier',
    num_draws=32,
    aggregation='max',
    draw_chunk=16,
    seed=0,
    head=dict(
        type='mmwsss.FickleNetCAMHead',
        kernel_size=3,
        drop_prob=0.9,
        center_fixed=True,
        channel_shared=True,
        init_from_1x1='center',
        # draws masked and convolved at once: each holds a masked copy of
        # the expanded map (0.4 GiB at VOC scale 2.0 with ResNet-50); the
        # maps do not depend on it (draw_chunk sets the random stream)
        draws_per_batch=1))
