# CPU-sized CutMix on SynthVOC's `wsol/` set: the SynthVOC CAM baseline
# (../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py) trained with
# wsolevaluation's CutMix defaults (Beta(1, 1), every batch).
_base_ = ['../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py']

model = dict(
    data_preprocessor=dict(
        batch_augments=dict(
            augments=dict(type='mmwsss.WSOLCutMix', alpha=1.0, prob=1.0))))
