# CPU-sized TransCAM + BNR on SynthVOC (see the TransCAM config).
_base_ = ['./transcam_conformer-w16d6_1xb8-20e_synthvoc-112.py']

model = dict(bnr=True, bnr_loss_weight=1.0)
