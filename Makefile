# Set up with `make install`; everything runs from the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# glibc hands big tensors back to the OS after every use; these settings keep them (see SPEC / README).
export GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184

.PHONY: install demo test bench bench-train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is pinned to the CPU build on disk; an unpinned torch pulls gigabytes of CUDA packages.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test,patchmatch]"
	touch $@

install: $(VENV)/.installed

# complete the example images with the bundled model, offline
demo: install
	$(BIN)/glcic complete examples/images --mask examples/masks -o outputs/demo
	@echo "results: outputs/demo/ (inputs in examples/images, masks in examples/masks)"

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_inference.py

bench-train: install
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
