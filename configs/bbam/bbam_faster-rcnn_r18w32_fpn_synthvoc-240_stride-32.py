# Ablation (dissertation Fig. 5.7b): a fixed BBAM mask stride of 32 network
# pixels for every box instead of the adaptive 16 + 48 sqrt(box area / image
# area); otherwise ./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py.
_base_ = ['./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py']

model = dict(mask_stride=32.0)
