# SynthVOC version of BBAM's box branch with both of its segmenters (VOC:
# ./bbam_r101-caffe_voc12aug.py), CPU-sized: the `make demo-box` chain
# (./bbam_r18w32_synthvoc-demo.py: SynthVOC -> Faster R-CNN on the boxes ->
# BBAM -> Mask R-CNN, instance, val) with BBAM on EVERY train image, and
# DeepLab-v2 on BBAM's semantic PNGs (trained, then tested on the val ground
# truth). The demo's BBAM stage labels only the first 100 train images; the
# segmentation dataset refuses a split with missing pseudo-masks, and
# training on all of them keeps DeepLab's val mIoU comparable with the IRN
# chains' (same 300 images, same DeepLab config). About 3x the demo's BBAM
# time (configs/bbam/README.md: 3.7 min for 100 images on 2 cores).
#   python tools/run_pipeline.py configs/pipelines/bbam_r18w32_synthvoc.py
_base_ = ['./bbam_r18w32_synthvoc-demo.py']

deeplab_config = ('configs/deeplabv2/'
                  'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py')
on_data = {
    'train_dataloader.dataset.data_root': _base_.data,
    'val_dataloader.dataset.data_root': _base_.data,
    'test_dataloader.dataset.data_root': _base_.data,
}

# Merged into the demo's stages (mmengine's `_base_` merge), which keep
# their order; the DeepLab stages come after them.
stages = dict(
    bbam=dict(cfg_options={'test_dataloader.dataset.indices': None}),
    deeplab=dict(
        kind='train',
        config=deeplab_config,
        cfg_options=dict(
            on_data,
            **{'train_dataloader.dataset.pseudo_mask_dir': '{bbam.semantic}'}),
        metrics=dict(val_miou='mIoU')),
    deeplab_test=dict(
        kind='test',
        config=deeplab_config,
        checkpoint='{deeplab.checkpoint}',
        cfg_options=on_data,
        metrics=dict(val_miou='mIoU')))
