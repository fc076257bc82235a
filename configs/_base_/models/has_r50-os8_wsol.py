# Hide-and-Seek (Singh and Lee, ICCV 2017) (wsolevaluation), model:
# the ResNet-50 CAM model (layer3/layer4 at stride 1, 28 x 28 maps) trained
# on images whose 120 x 120 grid patches are each hidden (set to the mean,
# i.e. 0 after normalisation) with probability 0.66 (mmwsss.HideAndSeek, a
# batch augment run after normalisation, as the reference before the
# forward). Test: CAM of the GT class, no hiding.
# Method values: the protocol's ResNet-50 CUB search (see
# configs/wsol_baselines/README.md).
_base_ = ['./cam_r50-os8_wsol.py']

model = dict(
    data_preprocessor=dict(
        batch_augments=dict(
            augments=dict(
                type='mmwsss.HideAndSeek', grid_size=120, drop_rate=0.66))))
