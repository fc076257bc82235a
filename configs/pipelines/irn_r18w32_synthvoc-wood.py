# SynthVOC version of dissertation Table 4.7's "+ W-OoD" (VOC:
# ./irn_r50_voc12aug-wood.py): SynthVOC -> CAM classifier -> W-OoD -> its
# CAMs -> IRN (SynthVOC's settings) -> DeepLab-v2 (train, val test).
#   python tools/run_pipeline.py configs/pipelines/irn_r18w32_synthvoc-wood.py
_base_ = ['./_base_/irn_synthvoc.py']

stages = dict(
    synthvoc=_base_.synthvoc,
    **_base_.wood_stages,
    cams=dict(_base_.cams, config=_base_.wood_config),
    **_base_.irn_stages)
