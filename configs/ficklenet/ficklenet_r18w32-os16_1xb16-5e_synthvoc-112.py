# FickleNet on the CPU-sized SynthVOC CAM classifier (half-width ResNet-18,
# crop 112): the demo CAM classifier fine-tuned for 5 epochs with the
# FickleNet head (3x3 windows, dropout 0.9 of the off-centre hidden units,
# centres kept, one mask per spatial unit shared by the channels), then
# stochastic inference: 32 draws per image, aggregated by the per-pixel max.
# The 1x1 classifier of the checkpoint is loaded into the centre tap, so the
# fine-tuning starts from the plain CAM classifier exactly. lr 0.01 (a fifth
# of the from-scratch lr; head x10) was chosen without looking at any mask.
#   python tools/train.py configs/ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py
#   python tools/test.py  configs/ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py \
#       work_dirs/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112/epoch_5.pth
_base_ = ['../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']

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

# the demo CAM classifier (tools/demo.py / configs/cam SynthVOC config)
load_from = 'work_dirs/demo/cam_classifier/epoch_20.pth'
max_epochs = 5
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
