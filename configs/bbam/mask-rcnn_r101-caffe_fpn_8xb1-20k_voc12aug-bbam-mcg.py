# ./mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py trained on the BBAM
# pseudo-masks refined by MCG proposals
# (./bbam_faster-rcnn_r101-caffe_fpn_voc12aug-mcg.py), as the official
# voc_2012_train_aug_cocostyle_BBAM_fg_85_ignore_2_mcg dataset; dissertation
# Table 5.1 / 5.4 (with MCG): AP 33.4, AP50 63.7, AP75 31.8.
#   bash tools/dist_train.sh \
#       configs/bbam/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam-mcg.py 8
_base_ = ['./mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py']

bbam_dir = 'work_dirs/bbam_faster-rcnn_r101-caffe_fpn_voc12aug-mcg/bbam'
train_dataloader = dict(
    dataset=dict(
        ann_file=bbam_dir + '/instances_train_aug_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train_aug_ignore20.json'))
