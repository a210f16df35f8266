# The README's two commands: `make demo` and `make test`. Both install what
# they need: a virtualenv with pinned Python packages, the npm packages of
# contracts/ (solc, snarkjs), and the native extension built in release mode.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

PY_DEPS   := $(VENV)/.deps-installed
NPM_DEPS  := contracts/node_modules/.installed
NATIVE_SRC := $(shell find native/src -name '*.rs') $(wildcard native/cuda/*) native/Cargo.toml Cargo.toml Cargo.lock pyproject.toml
NATIVE    := $(VENV)/.native-built

.PHONY: demo test test-rust test-python check-python check-format lint bench install clean

demo: install
	$(BIN)/zkml demo

test: install lint test-rust test-python

# Built once: maturin has built every dependency for the extension, and `cargo
# test --lib` reuses those builds, compiling only the dev-dependencies and the
# crate's test harness (native/Cargo.toml: both resolve the same features).
# --lib because, with thin LTO, a doc-test or integration test links the crate
# as an ordinary rlib, which needs every dependency built again with object code
# (the crate has neither today; `cargo test --release --doc` runs doc-tests).
# ZKML_REQUIRE_NVRTC: the CUDA kernels must compile through NVRTC (from the
# nvidia-cuda-nvrtc wheel in .venv) even though CI has no GPU.
test-rust: install
	ZKML_REQUIRE_NVRTC=1 cargo test --release --locked --lib

test-python: install
	$(BIN)/python -m pytest

# Seconds: lint (ruff), types (mypy on zkml/; pyproject.toml has both configs),
# and the hand-written stub zkml/_native.pyi against the built extension.
check-python: install
	$(BIN)/ruff check zkml tests
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest zkml._native --allowlist tests/native_stub_allowlist.txt

# Instant: the Rust code as rustfmt.toml lays it out.
check-format:
	cargo fmt --all --check

# check-python and check-format plus clippy with warnings as errors. Part of
# `make test`: clippy's own check build of the dependencies adds about 3
# minutes on 2 cores (a clean-clone `make test` took 9.4 minutes without it).
lint: check-format check-python
	cargo clippy --locked --all-targets --features python,bench-internals -- -D warnings

install: $(PY_DEPS) $(NPM_DEPS) $(NATIVE)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PY_DEPS): requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

$(NPM_DEPS): contracts/package.json contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(NATIVE): $(PY_DEPS) $(NATIVE_SRC)
	@echo "Building the native extension in release mode (about 3 minutes on 2 cores from scratch)"
	$(BIN)/maturin develop --release --locked
	touch $@

# Side-by-side against arkworks (MSM, NTT, the Groth16 prover) and, on a machine
# with an NVIDIA GPU, the CUDA MSM against the CPU MSM; then `zkml prove` end to
# end on the zoo and a wide MLP (pytest-benchmark, bench/e2e.py: stages, peak RSS)
# and against ezkl on the same models (bench/vs_ezkl.py; ezkl pinned in
# bench/requirements.lock). BENCH_FULL=1 adds lenet5 and issue 9's
# 1024-4096-4096-10 MLP. Raw records in target/bench/; see bench/RESULTS.md.
bench: install
	cargo bench --locked --features bench-internals --bench msm_ntt
	cargo bench --locked --bench prover
	cargo bench --locked --bench gpu_msm
	$(BIN)/python -m pip install --quiet -r bench/requirements.lock
	ZKML_BENCH_FULL=$(BENCH_FULL) $(BIN)/python -m pytest bench/test_bench_prove.py --benchmark-json=target/bench/prove.json
	$(BIN)/python bench/e2e.py $(if $(BENCH_FULL),--full) --json target/bench/e2e.json
	$(BIN)/python bench/vs_ezkl.py --json target/bench/vs_ezkl.json

clean:
	rm -rf $(VENV) target contracts/node_modules build zkml/_native*.so
