# ./bbam_faster-rcnn_r50-caffe_fpn_coco14.py with the instance pseudo-masks
# refined by MCG mask proposals (the reference's BBAM_plus_mcg.py;
# dissertation Tables 5.2 and 5.4), read from the MCG authors' precomputed
# files for MS COCO: data/coco2014/MCG/COCO_train2014_<12 digits>.mat.
#   bash tools/dist_test.sh \
#       configs/bbam/bbam_faster-rcnn_r50-caffe_fpn_coco14-mcg.py \
#       work_dirs/faster-rcnn_r50-caffe_fpn_8xb1-180k_coco14/iter_180000.pth 8
# Outputs under work_dirs/bbam_faster-rcnn_r50-caffe_fpn_coco14-mcg/bbam for
# ./mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam-mcg.py.
_base_ = ['./bbam_faster-rcnn_r50-caffe_fpn_coco14.py']

model = dict(pseudo_mask_cfg=dict(mcg_dir=_base_.data_root + 'MCG'))
