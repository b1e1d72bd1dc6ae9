# Set up with `make install`; everything runs from the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# glibc hands big tensors back to the OS after every use; these settings keep them (see SPEC / README).
export GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184

.PHONY: install demo test chromium bench bench-train photos device-photos results clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is pinned to the CPU build on disk; an unpinned torch pulls gigabytes of CUDA packages.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test,patchmatch,onnx,plot,web,browser,data]"
	touch $@

install: $(VENV)/.installed

# complete the example images with the bundled model, offline
demo: install
	mkdir -p outputs
	$(BIN)/glcic complete examples/images --mask examples/masks -o outputs/demo
	$(BIN)/glcic complete examples/images --mask examples/masks -o outputs/demo-network --no-texture
	@echo "results: outputs/demo/ (with the photo's texture, the default) and outputs/demo-network/ (the network's fill alone, --no-texture); inputs in examples/images, masks in examples/masks"

# Debian's Chromium for the page's browser tests (Playwright drives it; its own browser download cannot work offline)
chromium:
	@test -x /usr/lib/chromium/chromium || { command -v apt-get > /dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) > /dev/null 2>&1; } || \
		echo "note: Debian's chromium is not installed; the browser tests will be skipped"

test: install chromium
	$(BIN)/python -m pytest -q

bench: install
	mkdir -p results && rm -f results/bench.json results/bench.md
	$(BIN)/glcic bench --json results/bench.json -o results/bench.md

bench-train: install
	$(BIN)/python benchmarks/bench_training.py $(if $(wildcard data/photos/train),--data data/photos/train)

# the offline photo data set (Debian packages, scikit-image, scikit-learn), not stored in the repository
photos: install
	test -d data/photos || $(BIN)/python scripts/build_photos.py data/photos --cache data/packages

# the training and validation photos, small enough to travel to a lent GPU (scripts/device_train.sh)
device-photos: photos
	test -d data/device-photos || $(BIN)/python scripts/pack_photos.py data/photos data/device-photos

# docs/results.md: the bundled model and the classical methods on the test photos (never used to choose
# anything), 40 pairs per photo, the paper's rectangles and brush strokes, with the realism judge (trained 3 times); the
# full-resolution test photos; the Table 4 timings
METHODS := glcic,glcic_texture,glcic_raw,telea,navier_stokes,biharmonic,patchmatch
results: photos
	rm -rf results/test-paper results/test-free_form results/test-large results/table4.md results/table4.json
	mkdir -p results
	for protocol in paper free_form; do \
		$(BIN)/glcic evaluate --data data/photos/test -o results/test-$$protocol --protocol $$protocol --per-image 40 \
			--seed 0 --methods $(METHODS) --sheet-images 6 --judge-repeats 3 --no-progress > /dev/null || exit 1; \
	done
	$(BIN)/glcic evaluate --data data/photos/test_large -o results/test-large --protocol large --per-image 8 --seed 0 \
		--methods glcic,glcic_whole,telea,navier_stokes --no-judge --no-progress > /dev/null
	$(BIN)/glcic bench --repeats 2 -o results/table4.md --json results/table4.json > /dev/null

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
