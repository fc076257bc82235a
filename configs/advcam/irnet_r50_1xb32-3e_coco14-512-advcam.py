# IRNet trained on the AdvCAM IR labels of ir-label_r50-os16_coco14-advcam.py;
# otherwise configs/irn/irnet_r50_1xb32-3e_coco14-512.py.
#   python tools/train.py \
#       configs/advcam/irnet_r50_1xb32-3e_coco14-512-advcam.py
_base_ = ['../irn/irnet_r50_1xb32-3e_coco14-512.py']

ir_label_dir = 'work_dirs/ir-label_r50-os16_coco14-advcam/ir_labels'
train_dataloader = dict(dataset=dict(ir_label_dir=ir_label_dir))
