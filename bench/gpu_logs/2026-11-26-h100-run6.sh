#!/bin/bash
# After the H query moved to snarkjs's basis (six NTTs, no division): the
# Rust GPU proof tests and the prover benchmark 2^16..2^20.
export RUST_BACKTRACE=1 ZKML_CACHE_DIR=$(pwd)/.gpu/cache
nvidia-smi --query-gpu=name --format=csv,noheader
export ZKML_NVRTC=$(ls /opt/torch/.venv/lib/python3*/site-packages/nvidia/cu13/lib/libnvrtc.so.13 | head -1)
chmod +x .gpu/zkml_native_tests .gpu/gpu_prover
timeout 60 .gpu/zkml_native_tests --ignored --test-threads=1 cuda::tests::gpu_ntt_proof cuda::tests::gpu_ntt_through > $OUT/rust.log 2>&1
echo "== rust rc=$?"; grep -E "^test |test result" $OUT/rust.log; grep -A4 panicked $OUT/rust.log | head
ZKML_BENCH_MAX_LOG2=20 timeout 100 .gpu/gpu_prover > $OUT/bench.log 2>&1; echo "== bench rc=$?"; cat $OUT/bench.log
