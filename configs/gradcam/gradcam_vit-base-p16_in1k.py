# Grad-CAM CAM files of an mmpretrain ViT-B/16 ImageNet-1k classifier
# (mmpretrain's vit-base-p16_32xb128-mae_in1k config; its checkpoint loads
# unchanged) for the ImageNet val images, one map per ground-truth class.
#   python tools/test.py configs/gradcam/gradcam_vit-base-p16_in1k.py \
#       vit-base-p16_mae-ft_in1k.pth
# Target layer: the first LayerNorm of the last encoder layer; its tokens lose
# the class token and are laid on the patch grid of each input size (the
# position embedding is interpolated by the backbone).
# Images keep their size (the maps must match it); scale 0.5 (close to the
# 224 training crops of most ImageNet images) comes first and gives the
# scores. The val images and their classes are read from the layout of
# configs/_base_/datasets/imagenet_wsol.py (tools/dataset_converters/
# ilsvrc_wsol.py). A test job only: the base's training recipe (a 20-epoch
# warm-up that no shorter run could follow) is not inherited.
_base_ = ['mmpretrain::vision_transformer/vit-base-p16_32xb128-mae_in1k.py']

data_root = 'data/imagenet'
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
auto_scale_lr = None
val_dataloader = None
val_cfg = None
val_evaluator = None

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

model = dict(
    type='mmwsss.GradCAMClassifier',
    method='gradcam',
    target_layer='backbone.layers.11.ln1',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=False))

cam_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.MultiScaleResize', scales=(0.5, 1.0)),
    dict(type='mmwsss.PackCAMInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        _delete_=True,
        type='mmwsss.ImageNetWSOLDataset',
        data_root=data_root,
        synset_file='LOC_synset_mapping.txt',
        data_prefix=dict(img_path='val', ann_path='val_bbox'),
        pipeline=cam_pipeline))
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
