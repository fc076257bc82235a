# IRNet trained on the RIB IR labels of ir-label_r50-os16_voc12aug-rib.py;
# otherwise the IRN recipe of configs/irn/irnet_r50_1xb32-3e_voc12aug-512.py.
#   python tools/train.py configs/rib/irnet_r50_1xb32-3e_voc12aug-512-rib.py
_base_ = ['../irn/irnet_r50_1xb32-3e_voc12aug-512.py']

ir_label_dir = 'work_dirs/ir-label_r50-os16_voc12aug-rib/ir_labels'
train_dataloader = dict(dataset=dict(ir_label_dir=ir_label_dir))
