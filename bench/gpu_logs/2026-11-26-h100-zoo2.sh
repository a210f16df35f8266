#!/bin/bash
# Every zoo model: compile, setup --dev, prove --device cuda and --device cpu
# (same input), verify both; keys, proofs and publics come back in one tarball
# for snarkjs and the EVM verifier here.
export ZKML_CACHE_DIR=$(pwd)/.gpu/cache PYTHONUNBUFFERED=1; R=$(pwd)
export ZKML_NVRTC=$(ls /opt/torch/.venv/lib/python3*/site-packages/nvidia/cu13/lib/libnvrtc.so.13 | head -1)
PY=python3; $PY -c "import onnx, click, numpy" 2>/dev/null || PY=/opt/torch/.venv/bin/python
$PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $R/.gpu/zkml-*.whl; export PYTHONPATH=/tmp/site
mkdir -p /tmp/z; cd /tmp
for m in digits_mlp digits_cnn resnet_block tiny_transformer sklearn_mlp lenet5; do
  b=/tmp/b_$m; timeout 60 $PY -m zkml.cli compile $R/circuits/$m/model.onnx -o $b --calibration $R/circuits/$m/calibration.json > /dev/null 2>&1 || echo "$m compile failed"
  timeout 60 $PY -m zkml.cli setup $b --dev > /dev/null 2>&1 || echo "$m setup failed"
  mkdir -p /tmp/z/$m; cp $b/verification_key.json /tmp/z/$m/
  for d in cuda cpu; do
    timeout 60 $PY -m zkml.cli prove $b $R/circuits/$m/input.json -o /tmp/o_${m}_$d --device $d > /tmp/p.txt 2>&1; rc=$?
    timeout 30 $PY -m zkml.cli verify $b /tmp/o_${m}_$d > /dev/null 2>&1; vrc=$?
    echo "$m $d prove rc=$rc verify rc=$vrc $(grep -i 'device' /tmp/p.txt | cut -c1-80)"
    cp /tmp/o_${m}_$d/proof.json /tmp/z/$m/proof_$d.json; cp /tmp/o_${m}_$d/public.json /tmp/z/$m/public_$d.json
  done
done
tar czf $OUT/zoo.tar.gz -C /tmp z
