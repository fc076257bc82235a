# CutMix (Yun et al., ICCV 2019) (wsolevaluation), model: the
# ResNet-50 CAM model trained on batches that, with probability 0.24, get a
# box of a shuffled copy pasted in (area from Beta(1.35, 1.35)) and the
# correspondingly mixed one-hot targets (mmwsss.WSOLCutMix: the reference's
# draws and box; mmwsss.CAMHead trains on the soft targets).
# Method values: the protocol's ResNet-50 CUB search (see
# configs/wsol_baselines/README.md).
_base_ = ['./cam_r50-os8_wsol.py']

model = dict(
    data_preprocessor=dict(
        batch_augments=dict(
            augments=dict(type='mmwsss.WSOLCutMix', alpha=1.35, prob=0.24))))
