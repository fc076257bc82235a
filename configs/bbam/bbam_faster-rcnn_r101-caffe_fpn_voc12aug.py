# BBAM instance and semantic pseudo-labels of VOC 2012 train_aug from the
# detector of ./faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug.py, with the
# paper's settings: 1000 proposals jittered by +-30 %, positives by the IoU
# cascade 0.9/0.85/0.8 (at most 100), Adam lr 0.02 for 300 iterations,
# lambda 0.007, TV 1e-4, adaptive stride 16 + 48 sqrt(a); test scale 800.
# Every object is explained, difficult ones included (as the reference).
#   bash tools/dist_test.sh \
#       configs/bbam/bbam_faster-rcnn_r101-caffe_fpn_voc12aug.py \
#       work_dirs/faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug/iter_18000.pth 8
# Resumable: rerun the same command after an interruption. Outputs under
# bbam_dir = <work dir>/bbam (by default
# work_dirs/bbam_faster-rcnn_r101-caffe_fpn_voc12aug/bbam): maps/ (BBAMs),
# masks/ (per image), semantic/ (PNG labels for DeepLab),
# instances_train_aug_{fg85,ignore20}.json (for
# ./mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py).
_base_ = ['./faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug.py']

bbam_dir = '{work_dir}/bbam'
model = dict(
    _delete_=True,
    type='mmwsss.BBAM',
    detector=_base_.model,
    num_proposals=1000,
    num_iters=300,
    max_objects_per_batch=8,
    # pseudo-masks (CRF on the original image), the reference's settings
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
        type='mmwsss.ValidatedVOCDataset',
        ann_file='VOC2012/ImageSets/Segmentation/train_aug.txt',
        pipeline=bbam_pipeline))
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir=bbam_dir + '/maps'),
    dict(
        type='mmwsss.BBAMPseudoMaskWriter',
        output_dir=bbam_dir + '/masks',
        fg_ann_file=bbam_dir + '/instances_train_aug_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train_aug_ignore20.json',
        semantic_dir=bbam_dir + '/semantic'),
]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
# Distributed runs: the frozen detector has nothing for DDP to synchronise
# (DDP refuses a module without trainable parameters).
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
# A test job (tools/test.py with the trained detector's checkpoint): the
# detector's training recipe is not inherited (BBAM cannot train).
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
