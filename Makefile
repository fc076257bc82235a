# mmwsss: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# pytest-xdist workers of `make test` / `make test-quick` (one file per worker
# at a time, so module fixtures are built once); 0 runs in this process.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile

.PHONY: install demo demo-box test test-quick test-gpu clean-demo

install:
	@bash tools/install_env.sh $(VENV) $(PYTHON)

## Whole pipeline on the bundled synthetic benchmark (SynthVOC); a rerun
## skips the stages that are up to date.
demo: install
	$(PY) tools/run_pipeline.py configs/pipelines/irn_r18w32_synthvoc-demo.py --work-dir work_dirs/demo

## Box-supervised branch on SynthVOC: Faster R-CNN -> BBAM -> Mask R-CNN.
demo-box: install
	$(PY) tools/run_pipeline.py configs/pipelines/bbam_r18w32_synthvoc-demo.py --work-dir work_dirs/demo_box

## Full test suite (what CI runs).
test: install
	$(PY) -m pytest tests $(XDIST) $(PYTEST_ARGS)

## Quick subset: everything but the slow end-to-end tests.
test-quick: install
	$(PY) -m pytest tests -m "not slow" $(XDIST) $(PYTEST_ARGS)

## On a CUDA machine: every stage on the GPU against its CPU outputs, one
## training step per trainable model, then the demo on the GPU.
test-gpu: install
	$(PY) -m pytest tests -m gpu $(PYTEST_ARGS)
	$(PY) tools/demo.py --device cuda --work-dir work_dirs/demo_gpu

clean-demo:
	rm -rf work_dirs/demo work_dirs/demo_box
