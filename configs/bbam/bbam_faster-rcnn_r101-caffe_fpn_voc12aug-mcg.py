# ./bbam_faster-rcnn_r101-caffe_fpn_voc12aug.py with the instance pseudo-masks
# refined by MCG mask proposals (the reference's BBAM_plus_mcg.py; the
# dissertation's best instance results, Tables 5.1 and 5.4), read from the
# MCG authors' precomputed files for PASCAL VOC 2012:
# data/VOCdevkit/VOC2012/MCG/<image id>.mat (superpixels, labels, scores).
# The semantic PNGs stay those without MCG, as the reference's.
#   bash tools/dist_test.sh \
#       configs/bbam/bbam_faster-rcnn_r101-caffe_fpn_voc12aug-mcg.py \
#       work_dirs/faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug/iter_18000.pth 8
# Outputs under work_dirs/bbam_faster-rcnn_r101-caffe_fpn_voc12aug-mcg/bbam
# for ./mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam-mcg.py.
_base_ = ['./bbam_faster-rcnn_r101-caffe_fpn_voc12aug.py']

model = dict(
    pseudo_mask_cfg=dict(mcg_dir=_base_.data_root + 'VOC2012/MCG'))
