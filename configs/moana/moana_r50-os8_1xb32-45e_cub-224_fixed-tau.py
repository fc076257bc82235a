# MoANA on CUB-200-2011 evaluated at one fixed threshold:
# ./moana_r50-os8_1xb32-45e_cub-224.py, whose protocol='moana' follows MoANA's
# tester.py (Top-1 Loc at tau = 0.04, GT-known and Top-5 Loc at their best
# tau on the test set), with GT-known and Top-5 Loc at tau = 0.04 as well, so
# that no localization accuracy uses a threshold chosen on the test set (the
# paper's Top-N Loc definition names no threshold). MaxBoxAccV2 and
# MaxBoxAccMoANA stay oracle numbers by their definition. Same model: test a
# checkpoint of the base config with this one.
_base_ = './moana_r50-os8_1xb32-45e_cub-224.py'

val_evaluator = dict(best_threshold_per_metric=False)
test_evaluator = dict(best_threshold_per_metric=False)
