# DeepLab-v2 on the SynthVOC RIB pseudo-masks (./irnet-rw_r18w32_synthvoc-rib.py
# writes them); everything else is
# ../deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py.
# The baseline of ./deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib-sal.py.
#   python tools/train.py configs/rib/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib.py
_base_ = [
    '../deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py'
]

pseudo_mask_dir = 'work_dirs/irnet-rw_r18w32_synthvoc-rib/pseudo_masks'
train_dataloader = dict(dataset=dict(pseudo_mask_dir=pseudo_mask_dir))
