# SynthVOC IRNet trained on the FickleNet IR labels of
# ir-label_r18w32-os16_synthvoc-ficklenet.py; its frozen backbone is the
# FickleNet classifier's (the CAM network, as the SynthVOC IRN configs use
# the CAM classifier's backbone for lack of ImageNet weights); otherwise
# configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py.
#   python tools/train.py configs/ficklenet/irnet_r18w32_1xb16-10e_synthvoc-128-ficklenet.py
_base_ = ['../irn/irnet_r18w32_1xb16-10e_synthvoc-128.py']

cam_checkpoint = ('work_dirs/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112/'
                  'epoch_5.pth')
model = dict(backbone=dict(init_cfg=dict(checkpoint=cam_checkpoint)))
ir_label_dir = 'work_dirs/ir-label_r18w32-os16_synthvoc-ficklenet/ir_labels'
train_dataloader = dict(dataset=dict(ir_label_dir=ir_label_dir))
