# TransCAM + BNR (Fujimori et al. 2024, i2mond/BNR): the TransCAM recipe
# plus the multilabel soft-margin loss of the attention-refined map (weight
# 1); inference is TransCAM's.
_base_ = ['./transcam_conformer-s_1xb8-20e_voc12aug-512.py']

model = dict(bnr=True, bnr_loss_weight=1.0)
