# Ablation of ./dsrg_r18w32-d8_1xb10-300it_synthvoc-112x112.py: the same
# network, data, seeds (CAM > 0.2 foreground, all CAMs < 0.05 background)
# and schedule, trained with plain cross-entropy on the fixed seeds
# (unseeded pixels ignored): no region growing, no constrain loss.
#   python tools/train.py configs/dsrg/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-cam-seeds.py
_base_ = ['./dsrg_r18w32-d8_1xb10-300it_synthvoc-112x112.py']

model = dict(
    type='EncoderDecoder',
    decode_head=dict(
        _delete_=True,
        type='mmwsss.ASPPv2Head',
        in_channels=256,
        dilations=(6, 12, 18, 24),
        num_classes=7,
        align_corners=False,
        loss_decode=dict(
            type='mmseg.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=1.0)))
