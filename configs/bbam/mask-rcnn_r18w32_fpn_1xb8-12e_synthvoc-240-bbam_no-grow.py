# Ablation "without G" (dissertation Table 5.5): the Mask R-CNN learns from
# the initial foreground / background seeds of the BBAM pseudo-masks only,
# without growing them with its own predictions; otherwise
# ./mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py.
_base_ = ['./mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py']

model = dict(roi_head=dict(mask_head=dict(seed_growing=False)))
