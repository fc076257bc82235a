# IRNet trained on the RIB IR labels of ir-label_r50-os16_coco14-rib.py;
# otherwise configs/irn/irnet_r50_1xb32-3e_coco14-512.py (RIB's
# train_irn_coco.py: crop 512, batch 32, 3 epochs, lr 0.1).
#   python tools/train.py configs/rib/irnet_r50_1xb32-3e_coco14-512-rib.py
_base_ = ['../irn/irnet_r50_1xb32-3e_coco14-512.py']

ir_label_dir = 'work_dirs/ir-label_r50-os16_coco14-rib/ir_labels'
train_dataloader = dict(dataset=dict(ir_label_dir=ir_label_dir))
