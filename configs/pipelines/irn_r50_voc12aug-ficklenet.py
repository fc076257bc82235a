# IRN fed by FickleNet on VOC 2012 (Lee et al., CVPR 2019): the FickleNet
# classifier (IRN's recipe, 3x3 head with FickleNet dropout, configs/ficklenet)
# -> its CAMs of train_aug (max over 32 stochastic draws) -> IRN with IRN's
# settings (neither the FickleNet paper nor the dissertation gives others) ->
# DeepLab-v2 (train, val test). No paper table of this chain: the FickleNet
# paper's 64.9 val (dissertation Tables 3.2 / 4.3) uses saliency and its own
# seeds with DSRG, not IRN (configs/ficklenet/README.md).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-ficklenet.py
_base_ = ['./_base_/irn_voc12aug.py']

ficklenet_config = (
    'configs/ficklenet/ficklenet_r50-os16_1xb16-5e_voc12aug-512.py')
stages = dict(
    classifier=dict(_base_.classifier, config=ficklenet_config),
    cams=dict(_base_.cams, config=ficklenet_config),
    **_base_.irn_stages)
