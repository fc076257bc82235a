# SynthVOC IRNet trained on the RIB IR labels of
# ir-label_rib-r18-os16_synthvoc.py; otherwise
# configs/irn/irnet_r18_1xb16-10e_synthvoc-128.py.
#   python tools/train.py configs/rib/irnet_r18_1xb16-10e_synthvoc-128-rib.py
_base_ = ['../irn/irnet_r18_1xb16-10e_synthvoc-128.py']

train_dataloader = dict(
    dataset=dict(ir_label_dir='work_dirs/ir_labels/rib_synthvoc'))
