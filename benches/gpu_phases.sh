#!/usr/bin/env bash
# Where the GPU backend's time goes in composite_10x2048 (ten 2048x2048
# images from memory, source-over, upload and readback included), and the
# A/B of in-frame overlap (IMPASTO_GPU_OVERLAP=0|1, docs in src/gpu/phases.rs
# and ARCHITECTURE.md). Needs only the release `impasto` binary (no cargo);
# `gpu_paths` (the example) beside it is used when present. Everything goes
# to stdout; about a minute and a half on an H100/H200 host, never more
# than TOTAL seconds (default 170): each step runs under `timeout` with
# what is left, and a step is skipped once less than 5 s is left, so the
# steps come most useful first.
#
#   benches/gpu_phases.sh DIR        # DIR holds impasto [and gpu_paths]
#
# e.g. benches/gpu_phases.sh target/release (after `cargo build --release`
# and, optionally, `cargo build --release --example gpu_paths`, whose binary
# is target/release/examples/gpu_paths: copy it into DIR or pass
# GPU_PATHS=path). For a smoke run on a software adapter:
# SMOKE=1 benches/gpu_phases.sh target/debug
set -uo pipefail
dir=${1:?usage: benches/gpu_phases.sh DIR_WITH_IMPASTO}
imp=$dir/impasto
gpu_paths=${GPU_PATHS:-$dir/gpu_paths}
[ -x "$imp" ] || { echo "no executable $imp" >&2; exit 2; }
# The standard figures; SMOKE=1 shrinks everything for lavapipe.
suite=standard reps=15 warmup=2 ab_reps=30 ab_warm=3 phase_reps=5 phase_warm=2
total=${TOTAL:-170}
if [ "${SMOKE:-}" = 1 ]; then
  suite=quick reps=1 warmup=0 ab_reps=1 ab_warm=0 phase_reps=1 phase_warm=1 total=${TOTAL:-900}
fi
deadline=$(($(date +%s) + total))
exec 3>&1 # the script's stdout, for notes from inside pipelines
# run LIMIT CMD...: CMD under `timeout` with at most LIMIT seconds and what
# is left of TOTAL; skipped (with a line saying so) when under 5 s is left.
run() {
  local limit=$1 left
  shift
  left=$((deadline - $(date +%s)))
  if [ "$left" -lt 5 ]; then echo "(skipped: the $total s budget is spent)" >&3; return 0; fi
  [ "$left" -lt "$limit" ] && limit=$left
  timeout "$limit" "$@"
}
composite=(--backend gpu --case composite_10x2048 --suite quick)

echo "== host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
"$imp" --version 2>/dev/null
"$imp" info 2>&1 | head -12

echo
echo "== 1. phase breakdown (IMPASTO_GPU_PHASES=1), composite_10x2048, overlap off then on"
echo "   (ms per render: fill = rayon copies into staging, part of prepare; gpu wait = submit to"
echo "   readback mapped; copy-out = mapped readback into the image; gpu timestamps = GPU time of"
echo "   the staged copies left in the last submission, the passes and the readback copy;"
echo "   warm-ups included)"
for o in 0 1; do
  run 30 env IMPASTO_GPU_OVERLAP=$o IMPASTO_GPU_PHASES=1 "$imp" bench "${composite[@]}" \
    --warmup "$phase_warm" --reps "$phase_reps" 2>&1 | grep -E "gpu phases|^gpu +composite"
done

echo
echo "== 2. composite_10x2048 alone, $ab_reps reps each: overlap 0, 1, copy-out only"
echo "   (IMPASTO_GPU_OVERLAP_SUBMIT_MIB=100000: every copy goes with the passes), 1 with"
echo "   copies in submissions of two images (32 MiB); two rounds"
for round in 1 2; do
  for v in 0 1 1:100000 1:32; do
    o=${v%%:*} mib=8
    [ "$v" != "$o" ] && mib=${v#*:}
    echo "-- round $round: IMPASTO_GPU_OVERLAP=$o IMPASTO_GPU_OVERLAP_SUBMIT_MIB=$mib"
    run 30 env IMPASTO_GPU_OVERLAP=$o IMPASTO_GPU_OVERLAP_SUBMIT_MIB=$mib "$imp" bench \
      "${composite[@]}" --warmup "$ab_warm" --reps "$ab_reps" 2>/dev/null | grep -E "^gpu +composite"
  done
done

echo
echo "== 3. phase breakdown of the two variants of step 2 not in step 1"
for mib in 100000 32; do
  echo "-- IMPASTO_GPU_OVERLAP=1 IMPASTO_GPU_OVERLAP_SUBMIT_MIB=$mib"
  run 30 env IMPASTO_GPU_OVERLAP=1 IMPASTO_GPU_OVERLAP_SUBMIT_MIB=$mib IMPASTO_GPU_PHASES=1 \
    "$imp" bench "${composite[@]}" --warmup "$phase_warm" --reps "$phase_reps" 2>&1 \
    | grep -E "gpu phases|^gpu +composite"
done

echo
echo "== 4. the CPU backend on composite_10x2048, same host"
run 30 "$imp" bench --backend cpu --case composite_10x2048 --suite quick --warmup "$ab_warm" \
  --reps "$ab_reps" 2>/dev/null | grep -E "^cpu +composite"

echo
echo "== 5. the $suite suite on the GPU (--reps $reps --warmup $warmup), overlap off then on"
for o in 0 1; do
  echo "-- IMPASTO_GPU_OVERLAP=$o"
  run 60 env IMPASTO_GPU_OVERLAP=$o "$imp" bench --suite "$suite" --backend gpu \
    --reps "$reps" --warmup "$warmup" 2>/dev/null | grep -E "^(backend|gpu) "
done

echo
if [ -x "$gpu_paths" ]; then
  echo "== 6. gpu_paths: compositing alone (solids: no uploads) against ten images, overlap on"
  run 40 "$gpu_paths" --size 2048 --layers 10 --reps "$ab_reps" 2>&1 | tail -7
else
  echo "== 6. skipped: no $gpu_paths"
fi
echo "== done $(date -u +%FT%TZ)"
