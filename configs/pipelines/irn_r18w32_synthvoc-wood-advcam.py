# SynthVOC version of dissertation Table 4.7's "+ W-OoD + AdvCAM" (VOC:
# ./irn_r50_voc12aug-wood-advcam.py): SynthVOC -> CAM classifier -> W-OoD ->
# AdvCAM CAMs on the W-OoD classifier -> IRN (SynthVOC's settings) ->
# DeepLab-v2 (train, val test).
#   python tools/run_pipeline.py configs/pipelines/irn_r18w32_synthvoc-wood-advcam.py
_base_ = ['./_base_/irn_synthvoc.py']

stages = dict(
    synthvoc=_base_.synthvoc,
    **_base_.wood_stages,
    cams=dict(
        _base_.wood_cams,
        config='configs/advcam/advcam_cam-r18w32-os16_synthvoc.py'),
    **_base_.irn_stages)
