# Test-time variant of ./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py:
# multi-scale (0.5-1.5) + flip testing followed by a dense CRF on the
# averaged probabilities, as the WSSS papers report their DeepLab numbers
# (IRN issue #26; same training, only `tta_model` differs).
#   python tools/test.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo-crf.py CKPT --tta
# Without --tta the config tests like its base (single scale, no CRF).
_base_ = ['./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py']

# CRF kernels of the DeepLab-v2 PyTorch code (configs/voc12.yaml); the image
# is read again from disk at its original size.
tta_model = dict(
    _delete_=True,
    type='mmwsss.CRFSegTTAModel',
    iterations=10,
    gaussian_sxy=1,
    gaussian_compat=3,
    bilateral_sxy=67,
    bilateral_srgb=3,
    bilateral_compat=4)
