# BBAM instance and semantic pseudo-labels of MS COCO 2014 train2014 from
# the detector of ./faster-rcnn_r50-caffe_fpn_8xb1-180k_coco14.py, with the
# paper's settings (dissertation §5.4.1, as on VOC): 1000 proposals jittered
# by +-30 %, positives by the IoU cascade 0.9/0.85/0.8 (at most 100), Adam
# lr 0.02 for 300 iterations, lambda 0.007, TV 1e-4, adaptive stride
# 16 + 48 sqrt(a); test scale 800. Crowd boxes are not explained.
#   bash tools/dist_test.sh \
#       configs/bbam/bbam_faster-rcnn_r50-caffe_fpn_coco14.py \
#       work_dirs/faster-rcnn_r50-caffe_fpn_8xb1-180k_coco14/iter_180000.pth 8
# Resumable. Outputs under <work dir>/bbam: maps/, masks/, semantic/
# (81-class PNGs) and instances_train2014_{fg85,ignore20}.json for
# ./mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam.py.
_base_ = ['./faster-rcnn_r50-caffe_fpn_8xb1-180k_coco14.py']

bbam_dir = '{work_dir}/bbam'
model = dict(
    _delete_=True,
    type='mmwsss.BBAM',
    detector=_base_.model,
    num_proposals=1000,
    num_iters=300,
    max_objects_per_batch=8,
    pseudo_mask_cfg=dict(fg_rank_fraction=0.85, ignore_rank_fraction=0.2),
    # processes sharing each image's CRFs; tools/test.py caps them at the
    # process's cores
    num_workers=8)

bbam_pipeline = [
    dict(type='LoadImageFromFile'),
    # the pseudo-masks' CRF runs on the original image
    dict(type='mmwsss.KeepOriginalImage'),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    # after Resize: the boxes stay in the original frame
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'ori_img'))
]
test_dataloader = dict(
    dataset=dict(
        # every box checked: none is dropped silently
        type='mmwsss.ValidatedCocoDataset',
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img='train2014/'),
        pipeline=bbam_pipeline))
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir=bbam_dir + '/maps'),
    dict(
        type='mmwsss.BBAMPseudoMaskWriter',
        output_dir=bbam_dir + '/masks',
        fg_ann_file=bbam_dir + '/instances_train2014_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train2014_ignore20.json',
        semantic_dir=bbam_dir + '/semantic'),
]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
# The frozen detector has nothing for DDP to synchronise.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
# A test job: the detector's training recipe is not inherited.
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
