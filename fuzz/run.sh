#!/usr/bin/env bash
# Run every atheris harness (or those named) for SECONDS each, JOBS at a time,
# and print one line per harness: seconds, executions, corpus, findings.
#   fuzz/run.sh 120            # all harnesses, 2 at a time
#   JOBS=1 fuzz/run.sh 60 zkey onnx
# Needs atheris (pip install -r fuzz/requirements.lock). Corpora and logs go to
# $ZKML_FUZZ_WORK (default /tmp/zkml-fuzz-$UID); crashes, hangs and out-of-
# memory inputs to fuzz/findings/<harness>/ (copy real ones to
# fuzz/regressions/<harness>/ once understood, for tests/test_fuzz_regressions.py).
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:?usage: fuzz/run.sh SECONDS [harness...]}
shift
PY=${PYTHON:-.venv/bin/python}
JOBS=${JOBS:-2}
WORK=${ZKML_FUZZ_WORK:-/tmp/zkml-fuzz-$(id -u)}
export ZKML_FUZZ_WORK=$WORK
HARNESSES=${*:-input_json circuit_json constants proof public verifying_key proving_key zkey onnx}
mkdir -p "$WORK/logs"
"$PY" -c "import sys; sys.path.insert(0, 'fuzz'); import common; common.prepare()" || exit 1

run_one() {
  local h=$1 maxlen
  maxlen=$("$PY" -c "import sys; sys.path.insert(0, 'fuzz'); import fuzz_$h as m; print(m.MAX_LEN)")
  mkdir -p "fuzz/findings/$h" "$WORK/corpus/$h"
  # -timeout: one input over 20 s is a hang; -rss_limit_mb: over 3 GiB is an
  # unbounded allocation (the harness process idles at ~100-400 MB).
  "$PY" "fuzz/fuzz_$h.py" "$WORK/corpus/$h" -max_total_time="$SECONDS_EACH" -timeout=20 \
    -rss_limit_mb=3072 -max_len="$maxlen" -keep_seed=1 -print_final_stats=1 \
    -artifact_prefix="fuzz/findings/$h/" >"$WORK/logs/$h.log" 2>&1
  echo $? >"$WORK/logs/$h.rc"
}

running=0
for h in $HARNESSES; do
  run_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

printf '%-14s %8s %10s %8s %8s  %s\n' harness seconds execs exec/s corpus findings
status=0
for h in $HARNESSES; do
  log=$WORK/logs/$h.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  time_s=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  corpus=$(ls "$WORK/corpus/$h" | wc -l)
  found=$(ls "fuzz/findings/$h" 2>/dev/null | wc -l)
  [ "$(cat "$WORK/logs/$h.rc")" = 0 ] || { status=1; found="$found (rc $(cat "$WORK/logs/$h.rc"), see $log)"; }
  printf '%-14s %8s %10s %8s %8s  %s\n' "$h" "${time_s:-?}" "${execs:-?}" "${rate:-?}" "$corpus" "$found"
done
exit $status
