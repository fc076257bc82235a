# CPU-sized Hide-and-Seek on SynthVOC's `wsol/` set: the SynthVOC CAM
# baseline (../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py) trained
# with 56 x 56 patches hidden with probability 0.5 (the 2 x 2 grid that
# 120-pixel patches make of a 224 image).
_base_ = ['../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py']

model = dict(
    data_preprocessor=dict(
        batch_augments=dict(
            augments=dict(
                type='mmwsss.HideAndSeek', grid_size=56, drop_rate=0.5))))
