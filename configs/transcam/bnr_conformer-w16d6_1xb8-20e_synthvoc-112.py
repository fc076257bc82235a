# CPU-sized TransCAM + BNR on SynthVOC (see the TransCAM config).
_base_ = ['./transcam_conformer-w16d6_1xb8-20e_synthvoc-112.py']

model = dict(bnr=True, bnr_loss_weight=1.0)
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='work_dirs/cams/bnr_synthvoc'),
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]
