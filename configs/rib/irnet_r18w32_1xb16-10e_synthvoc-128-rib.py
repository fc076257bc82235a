# SynthVOC IRNet trained on the RIB IR labels of
# ir-label_r18w32-os16_synthvoc-rib.py; otherwise
# configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py.
#   python tools/train.py configs/rib/irnet_r18w32_1xb16-10e_synthvoc-128-rib.py
_base_ = ['../irn/irnet_r18w32_1xb16-10e_synthvoc-128.py']

ir_label_dir = 'work_dirs/ir-label_r18w32-os16_synthvoc-rib/ir_labels'
train_dataloader = dict(dataset=dict(ir_label_dir=ir_label_dir))
