# Ablation (dissertation Fig. 5.7b): a fixed BBAM mask stride of 32 network
# pixels for every box instead of the adaptive 16 + 48 sqrt(box area / image
# area); otherwise ./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py.
_base_ = ['./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py']

bbam_dir = 'work_dirs/bbam/synthvoc_stride-32'
model = dict(mask_stride=32.0)

test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir=bbam_dir + '/maps'),
    dict(
        type='mmwsss.BBAMPseudoMaskWriter',
        output_dir=bbam_dir + '/masks',
        fg_ann_file=bbam_dir + '/instances_train_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train_ignore20.json',
        semantic_dir=bbam_dir + '/semantic'),
    dict(type='mmwsss.BoxPseudoMaskMetric'),
]
