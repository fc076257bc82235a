# ./mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam.py trained on the BBAM
# pseudo-masks refined by MCG proposals
# (./bbam_faster-rcnn_r50-caffe_fpn_coco14-mcg.py); dissertation Tables 5.2 /
# 5.4 (with MCG, COCO 2017 val): AP 26.0, AP50 50.0, AP75 23.9.
#   bash tools/dist_train.sh \
#       configs/bbam/mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam-mcg.py 8
_base_ = ['./mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam.py']

bbam_dir = 'work_dirs/bbam_faster-rcnn_r50-caffe_fpn_coco14-mcg/bbam'
train_dataloader = dict(
    dataset=dict(
        ann_file=bbam_dir + '/instances_train2014_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train2014_ignore20.json'))
