# Test-time variant of ./deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py:
# multi-scale (0.5-1.5) + flip testing followed by the dense CRF of the
# DeepLab-v2 PyTorch code (configs/coco.yaml: the kernels of its VOC
# config), as the WSSS papers report their COCO numbers.
#   python tools/test.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo-crf.py CKPT --tta
_base_ = ['./deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py']

tta_model = dict(
    _delete_=True,
    type='mmwsss.CRFSegTTAModel',
    iterations=10,
    gaussian_sxy=1,
    gaussian_compat=3,
    bilateral_sxy=67,
    bilateral_srgb=3,
    bilateral_compat=4)
