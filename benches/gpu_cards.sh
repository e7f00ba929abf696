#!/usr/bin/env bash
# The GPU issue's card target on a GPU host: batches of social cards on the
# GPU backend against the CPU backend on the same machine, in the harness
# and through `impasto batch`, with the number of threads driving the GPU
# swept (since 2026-11-27 the GPU computes each JPEG's DCT blocks and the
# CPU only entropy-codes them, and the driving threads no longer share
# glyphon's state under one lock nor wait on rayon to copy the blocks out,
# so the best `--gpu-drivers` may have moved; the H100 runs of 2026-11-26
# found one to three drivers scaling 569 -> 847 -> 872 cards/s).
# Needs only the release `impasto` binary (no cargo) and, for step 3,
# examples/batch from the repository. Everything goes to stdout; never more
# than TOTAL seconds (default 420): each step runs under `timeout` with what
# is left, and a step is skipped once less than 5 s is left, so the steps
# come most useful first.
#
#   benches/gpu_cards.sh DIR         # DIR holds impasto
#
# e.g. benches/gpu_cards.sh target/release. For a smoke run on a software
# adapter: SMOKE=1 benches/gpu_cards.sh target/release
set -uo pipefail
dir=${1:?usage: benches/gpu_cards.sh DIR_WITH_IMPASTO}
imp=$dir/impasto
[ -x "$imp" ] || { echo "no executable $imp" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
suite=standard reps=20 warmup=3 rows=4000 drivers="1 2 3 4 6 8"
total=${TOTAL:-420}
if [ "${SMOKE:-}" = 1 ]; then
  suite=quick reps=1 warmup=0 rows=20 drivers="1 2" total=${TOTAL:-600}
fi
deadline=$(($(date +%s) + total))
# run LIMIT CMD...: CMD under `timeout` with at most LIMIT seconds and what
# is left of TOTAL; skipped (with a line saying so) when under 5 s is left.
run() {
  local limit=$1 left
  shift
  left=$((deadline - $(date +%s)))
  if [ "$left" -lt 5 ]; then echo "(skipped: the $total s budget is spent)"; return 0; fi
  [ "$left" -lt "$limit" ] && limit=$left
  timeout "$limit" "$@"
}
cards=(--case social_cards_batch --suite "$suite" --reps "$reps" --warmup "$warmup")

echo "== host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
"$imp" --version 2>/dev/null

echo
echo "== 1. social_cards_batch ($suite suite), CPU then GPU (default drivers), two rounds"
for round in 1 2; do
  for b in cpu gpu; do
    run 90 "$imp" bench --backend "$b" "${cards[@]}" 2>&1 | grep -E "^(cpu|gpu) +social|adapter|drivers"
  done
done

echo
echo "== 2. social_cards_batch on the GPU, --gpu-drivers swept"
for n in $drivers; do
  echo "-- --gpu-drivers $n"
  run 60 "$imp" bench --backend gpu --gpu-drivers "$n" "${cards[@]}" 2>/dev/null \
    | grep -E "^gpu +social"
done

echo
echo "== 3. impasto batch: $rows rows of examples/batch (600x750 JPEG cards), CPU, GPU, GPU without caches"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -f "$here/examples/batch/card.json" ]; then
  cp -r "$here/examples/batch/." "$work/"
  {
    head -1 "$here/examples/batch/rows.csv"
    body=$(tail -n +2 "$here/examples/batch/rows.csv")
    n=$(printf '%s\n' "$body" | wc -l)
    for ((i = 0; i < rows; i += n)); do printf '%s\n' "$body"; done | head -n "$rows" \
      | awk -F, 'BEGIN { OFS = "," } { $1 = $1 "-" NR; print }'
  } > "$work/rows_many.csv"
  # gpu-nocache: the GPU with the caches kept between rows turned off
  # (decoded images, resamples on the device), to see what they save (the
  # process-wide weight tables and the resource pool stay on).
  for round in 1 2; do
    for b in cpu gpu gpu-nocache; do
      rm -rf "$work/out"
      extra=()
      [ "$b" = gpu-nocache ] && extra=(--asset-cache-bytes 0 --gpu-placed-cache-bytes 0)
      start=$(date +%s.%N)
      summary=$(run 120 "$imp" batch "$work/card.json" --data "$work/rows_many.csv" \
        --assets "$here/examples/poster" -o "$work/out/{{id}}.jpg" --backend "${b%-nocache}" \
        ${extra[@]+"${extra[@]}"} --no-system-fonts 2>&1 >/dev/null | grep "impasto batch:")
      end=$(date +%s.%N)
      written=$(find "$work/out" -name '*.jpg' 2>/dev/null | wc -l)
      awk -v b="$b" -v r="$round" -v s="$start" -v e="$end" -v w="$written" \
        'BEGIN { printf "round %s %s: %d cards written in %.2f s wall, %.1f cards/s\n", r, b, w, e - s, w / (e - s) }'
      echo "   $summary"
    done
  done
else
  echo "skipped: no examples/batch beside this script"
fi

echo
echo "== 4. composite_10x2048 (quick suite), CPU then GPU"
for b in cpu gpu; do
  run 60 "$imp" bench --backend "$b" --case composite_10x2048 --suite quick --reps 15 \
    --warmup 2 2>/dev/null | grep -E "^(cpu|gpu) +composite"
done
echo "== done $(date -u +%FT%TZ)"
