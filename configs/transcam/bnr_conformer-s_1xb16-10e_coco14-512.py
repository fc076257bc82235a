# TransCAM + BNR on MS COCO 2014 train2014 with BNR's COCO recipe (§4.2: 10
# epochs, batch 16; everything else as TransCAM): the multilabel soft-margin
# loss of the attention-refined map added with weight 1.
_base_ = ['./transcam_conformer-s_1xb16-10e_coco14-512.py']

model = dict(bnr=True, bnr_loss_weight=1.0)
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]
