# IRNet trained on the W-OoD IR labels of ir-label_r50-os16_coco14-wood.py;
# otherwise configs/irn/irnet_r50_1xb32-3e_coco14-512.py (W-OoD keeps IRN's
# IRNet recipe).
#   python tools/train.py configs/wood/irnet_r50_1xb32-3e_coco14-512-wood.py
_base_ = ['../irn/irnet_r50_1xb32-3e_coco14-512.py']

ir_label_dir = 'work_dirs/ir-label_r50-os16_coco14-wood/ir_labels'
train_dataloader = dict(dataset=dict(ir_label_dir=ir_label_dir))
