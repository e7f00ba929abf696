#!/usr/bin/env bash
# A/B of two impasto CLI builds on the scenes that streaming layers through
# the CPU's bands changed: peak RSS (/usr/bin/time), callgrind instruction
# counts (whole process: decode, paint, PNG encode) and byte-identical
# output. Needs valgrind and GNU time.
#
#   benches/stream_ab.sh OLD_BIN NEW_BIN [--no-callgrind]
#
# e.g. benches/stream_ab.sh /work/main/target/release/impasto target/release/impasto
set -euo pipefail
old=$1
new=$2
callgrind=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$root/examples/poster/"{coffee.jpg,logo.png,poster.json} "$dir/"
python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
def scene(name, w, h, layers):
    json.dump({"width": w, "height": h, "layers": layers}, open(f"{d}/{name}.json", "w"))
# Peak memory: the issue's cases, scaled.
scene("rss_20layers_4096", 4096, 4096,
      [{"type": "image", "src": "logo.png", "fit": "fill", "x": i} for i in range(20)])
scene("rss_rotated_8192", 8192, 8192,
      [{"type": "image", "src": "coffee.jpg", "fit": "fill", "rotate": 7}])
scene("rss_two_8192", 8192, 8192,
      [{"type": "image", "src": "coffee.jpg", "fit": "fill"},
       {"type": "image", "src": "coffee.jpg", "fit": "fill", "opacity": 0.5}])
scene("rss_text200_3000", 512, 512,
      [{"type": "text", "text": "Ag", "width": 512, "height": 512, "size": 3000, "x": -i}
       for i in range(200)])
# Instruction counts: ordinary work.
scene("cg_stretched20", 1024, 1024,
      [{"type": "image", "src": "logo.png", "fit": "fill", "x": i} for i in range(20)])
scene("cg_rotated", 1024, 1024,
      [{"type": "image", "src": "coffee.jpg", "fit": "fill", "rotate": 7}])
scene("cg_rotated45", 1024, 1024,
      [{"type": "image", "src": "coffee.jpg", "fit": "fill", "rotate": 45, "filter": "bilinear"}])
scene("cg_photo_cover", 1080, 1350,
      [{"type": "image", "src": "coffee.jpg", "fit": "cover", "width": 1080, "height": 1350}])
scene("cg_text50", 1024, 1024,
      [{"type": "text", "text": "Espresso Week %d — fresh beans, slow mornings" % i, "x": 10,
        "y": i * 20, "width": 1000, "height": 200, "size": 18 + i % 5 * 4,
        "rotate": 5 if i % 4 == 0 else 0} for i in range(50)])
scene("cg_thumbs16", 1080, 1350,
      [{"type": "image", "src": "coffee.jpg", "fit": "cover", "width": 300, "height": 300,
        "x": (i % 4) * 250, "y": (i // 4) * 300} for i in range(16)])
EOF
cp "$dir/poster.json" "$dir/cg_poster.json"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "$dir"/rss_*.json; do
  n=$(basename "$s" .json)
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    /usr/bin/time -f "$n $b: peak RSS %M KiB, %e s" "$bin" render --backend cpu --no-system-fonts \
      --max-render-bytes 100000000000 -o "$dir/$n.$b.png" "$s" 2>&1 | tail -1
  done
  cmp -s "$dir/$n.old.png" "$dir/$n.new.png" && echo "$n: identical output" || echo "$n: OUTPUT DIFFERS"
done
[ "$callgrind" = --no-callgrind ] && exit 0
for s in "$dir"/cg_*.json; do
  n=$(basename "$s" .json)
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    valgrind --tool=callgrind --callgrind-out-file="$dir/$n.$b.cg" "$bin" render --backend cpu \
      --no-system-fonts -o "$dir/$n.$b.png" "$s" >/dev/null 2>&1
    echo "$n $b: $(callgrind_annotate "$dir/$n.$b.cg" 2>/dev/null | grep 'PROGRAM TOTALS' | awk '{print $1}') instructions"
  done
  cmp -s "$dir/$n.old.png" "$dir/$n.new.png" && echo "$n: identical output" || echo "$n: OUTPUT DIFFERS"
done
