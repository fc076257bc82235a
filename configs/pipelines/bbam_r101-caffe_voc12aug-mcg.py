# BBAM's box branch on VOC 2012 with MCG refinement (dissertation Table 5.1's
# best, Table 5.4): the BBAM pseudo-masks are refined with the MCG authors'
# precomputed proposals (data/VOCdevkit/VOC2012/MCG/<image>.mat; see
# configs/bbam/README.md) before Mask R-CNN and DeepLab-v2 train on them.
# Everything else is ./bbam_r101-caffe_voc12aug.py.
# Paper: Mask R-CNN val AP 33.4, AP50 63.7, AP75 31.8 with MCG (29.6 / 61.9 /
# 25.8 without).
#   python tools/run_pipeline.py configs/pipelines/bbam_r101-caffe_voc12aug-mcg.py \
#       --launcher pytorch --gpus 8
_base_ = ['./bbam_r101-caffe_voc12aug.py']

stages = dict(
    bbam=dict(
        config='configs/bbam/bbam_faster-rcnn_r101-caffe_fpn_voc12aug-mcg.py'),
    mask_rcnn=dict(
        config='configs/bbam/'
        'mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam-mcg.py'))
