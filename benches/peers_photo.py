#!/usr/bin/env python3
"""Real-photo jobs, impasto against its peers, measured in one run on the
same inputs (issue: "Real photos, end to end").

Jobs:
  poster  a 4000x3000 JPEG cover-fitted into 1080x900 of a 1080x1350
          poster, a gradient, a rounded rect and a logo -> JPEG q85
  card    a 1200x630 social card: the same photo (cover), a gradient, a
          logo and two text layers -> JPEG q85
  thumbs  a folder of large (6000x4000) JPEGs -> 256 px JPEG thumbnails

Measured:
  single     impasto: the whole CLI process (`impasto render`, start-up
             included), median of RUNS; sharp, pyvips, Pillow: in-process,
             median of RUNS after warm-up (imports excluded, which favours
             them). Every render decodes its inputs (no caches).
  throughput RENDERS renders using every core: impasto's library API
             (`examples/photo_jobs.rs`, with no caches, with only the
             resampled-image cache, and with both caches as they come)
             against sharp with its own concurrency (its cache off, then on
             as it comes).
  thumbs     whole process, wall time and peak RSS (/usr/bin/time): impasto's
             thumbnails example, vipsthumbnail, Pillow (`draft` + `thumbnail`).

Setup (peers are not dependencies of the crate):
    npm install sharp                      # in this repository's root
    pip install pyvips pillow numpy
    apt-get install libvips-tools          # vipsthumbnail, libvips for pyvips
    cargo build --release --bin impasto --example photo_jobs --example thumbnails
    python3 benches/peers_photo.py [--thumbs 100] [--runs 15] [--renders 200]

Inputs are generated (deterministic, photo-like: smooth fields plus grain,
so JPEG decoding does realistic work) unless --photo names a real JPEG.
Prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
IMPASTO = ROOT / "target/release/impasto"
PHOTO_JOBS = ROOT / "target/release/examples/photo_jobs"
THUMBNAILS = ROOT / "target/release/examples/thumbnails"


def photo_like(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    fx, fy = x / w, y / h
    r = 128 + 90 * np.sin(fx * 9 + seed) * np.cos(fy * 4)
    g = 100 + 80 * np.sin(fy * 23 + fx * 5 + seed)
    b = 130 + 90 * np.cos((fx - 0.5) * (fy - 0.3) * 60)
    img = np.dstack([r, g, b]) + rng.normal(0, 9, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def make_inputs(work, args):
    (work / "out").mkdir(parents=True, exist_ok=True)
    photo = work / "photo.jpg"
    if args.photo:
        shutil.copy(args.photo, photo)
    elif not photo.exists():
        photo_like(4000, 3000, 1).save(photo, quality=90)
    shutil.copy(ROOT / "examples/poster/logo.png", work / "logo.png")
    for f in ["Inter-Bold.otf", "Inter-Regular.otf"]:
        shutil.copy(ROOT / "fonts/inter" / f, work / f)
    thumbs = work / "thumbs"
    thumbs.mkdir(exist_ok=True)
    have = len(list(thumbs.glob("*.jpg")))
    if have < args.thumbs:
        base = photo_like(6000, 4000, 7)
        for i in range(have, args.thumbs):
            # Distinct files: each a different crop-and-pad of the base.
            im = base.rotate(0, translate=(i * 37 % 400, i * 53 % 300))
            im.save(thumbs / f"{i:03d}.jpg", quality=88)
    for extra in thumbs.glob("*.jpg"):
        if int(extra.stem) >= args.thumbs:
            extra.unlink()
    poster = {
        "width": 1080, "height": 1350, "background": "#f4efe6",
        "layers": [
            {"type": "image", "src": "photo.jpg", "width": 1080, "height": 900, "fit": "cover"},
            {"type": "linear-gradient", "y": 500, "height": 400, "angle": 180,
             "stops": [{"offset": 0, "color": "#00000000"}, {"offset": 1, "color": "#000000b0"}]},
            {"type": "rect", "x": 60, "y": 960, "width": 960, "height": 300,
             "corner_radius": 32, "color": "#ffffffe6"},
            {"type": "image", "src": "logo.png", "x": 60, "y": 40, "width": 160, "height": 160,
             "fit": "contain"},
        ],
    }
    card = {
        "width": 1200, "height": 630,
        "layers": [
            {"type": "image", "src": "photo.jpg", "fit": "cover"},
            {"type": "linear-gradient", "y": 300, "height": 330, "angle": 180,
             "stops": [{"offset": 0, "color": "#00000000"}, {"offset": 1, "color": "#000000b0"}]},
            {"type": "image", "src": "logo.png", "x": 48, "y": 40, "width": 96, "height": 96,
             "fit": "contain"},
            {"type": "text", "text": "Espresso Week at the Roastery", "x": 60, "y": 420,
             "width": 1000, "height": 80, "size": 56, "weight": 700, "color": "#ffffff"},
            {"type": "text", "text": "Every double shot half price, Monday to Friday, 7 to 11 am.",
             "x": 60, "y": 520, "width": 1000, "height": 60, "size": 30, "color": "#dddddd"},
        ],
    }
    (work / "poster.json").write_text(json.dumps(poster))
    (work / "card.json").write_text(json.dumps(card))


def median_ms(fn, runs, warm=2):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def impasto_single(work, job, runs):
    cmd = [str(IMPASTO), "render", str(work / f"{job}.json"), "-o",
           str(work / "out" / f"impasto_{job}.jpg"), "--backend", "cpu", "--no-system-fonts"]
    return median_ms(lambda: subprocess.run(cmd, check=True), runs, warm=1)


def pillow_poster(work):
    im = Image.open(work / "photo.jpg")
    im.draft("RGB", (1080, 900))
    photo = im.convert("RGB")
    scale = max(1080 / photo.width, 900 / photo.height)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    left, top = (photo.width - 1080) // 2, (photo.height - 900) // 2
    photo = photo.crop((left, top, left + 1080, top + 900))
    canvas = Image.new("RGBA", (1080, 1350), "#f4efe6")
    canvas.paste(photo, (0, 0))
    alpha = np.linspace(0, 176, 400, dtype=np.float32)[:, None].repeat(1080, 1).astype(np.uint8)
    grad = Image.fromarray(np.dstack([np.zeros((400, 1080, 3), np.uint8), alpha]), "RGBA")
    canvas.alpha_composite(grad, (0, 500))
    box = Image.new("RGBA", (960, 300), (0, 0, 0, 0))
    ImageDraw.Draw(box).rounded_rectangle((0, 0, 959, 299), 32, fill=(255, 255, 255, 230))
    canvas.alpha_composite(box, (60, 960))
    logo = Image.open(work / "logo.png").convert("RGBA")
    logo.thumbnail((160, 160), Image.LANCZOS)
    canvas.alpha_composite(logo, (60, 40))
    out = io.BytesIO()
    canvas.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def pillow_card(work, fonts):
    im = Image.open(work / "photo.jpg")
    im.draft("RGB", (1200, 630))
    photo = im.convert("RGB")
    scale = max(1200 / photo.width, 630 / photo.height)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    left, top = (photo.width - 1200) // 2, (photo.height - 630) // 2
    canvas = photo.crop((left, top, left + 1200, top + 630)).convert("RGBA")
    alpha = np.linspace(0, 176, 330, dtype=np.float32)[:, None].repeat(1200, 1).astype(np.uint8)
    grad = Image.fromarray(np.dstack([np.zeros((330, 1200, 3), np.uint8), alpha]), "RGBA")
    canvas.alpha_composite(grad, (0, 300))
    logo = Image.open(work / "logo.png").convert("RGBA")
    logo.thumbnail((96, 96), Image.LANCZOS)
    canvas.alpha_composite(logo, (48, 40))
    d = ImageDraw.Draw(canvas)
    d.text((60, 420), "Espresso Week at the Roastery", font=fonts[0], fill="#ffffff")
    d.text((60, 520), "Every double shot half price, Monday to Friday, 7 to 11 am.",
           font=fonts[1], fill="#dddddd")
    out = io.BytesIO()
    canvas.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def pyvips_poster(work):
    import pyvips
    photo = pyvips.Image.thumbnail(str(work / "photo.jpg"), 1080, height=900, crop="centre")
    canvas = pyvips.Image.black(1080, 1350, bands=3).new_from_image([244, 239, 230]).copy(
        interpretation="srgb").bandjoin(255)
    canvas = canvas.insert(photo.bandjoin(255), 0, 0)
    grad = pyvips.Image.svgload_buffer(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="400"><defs>'
        b'<linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-opacity="0"/>'
        b'<stop offset="1" stop-opacity="0.69"/></linearGradient></defs>'
        b'<rect width="1080" height="400" fill="url(#g)"/></svg>')
    box = pyvips.Image.svgload_buffer(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="960" height="300">'
        b'<rect width="960" height="300" rx="32" fill="#fff" fill-opacity="0.9"/></svg>')
    logo = pyvips.Image.thumbnail(str(work / "logo.png"), 160, height=160)
    canvas = canvas.composite([grad, box, logo], "over", x=[0, 60, 60], y=[500, 960, 40])
    return canvas.flatten().jpegsave_buffer(Q=85)


def timed(cmd, env=None):
    """Wall seconds and peak RSS (MB) of a whole command."""
    t = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True,
                       env=env)
    if t.returncode not in (0,):
        sys.stderr.write(t.stderr[-2000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    secs, kb = t.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kb) / 1024


PILLOW_THUMBS = """
import sys
from pathlib import Path
from PIL import Image
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
for f in sorted(src.rglob('*.jpg')):
    im = Image.open(f)
    im.draft('RGB', (256, 256))
    im.thumbnail((256, 256), Image.LANCZOS)
    im.save(dst / f.name, quality=85)
"""


def thumbs(work):
    src = work / "thumbs"
    n = len(list(src.glob("*.jpg")))
    rows = {}
    for name in ["impasto", "vipsthumbnail", "pillow"]:
        out = work / "out" / f"thumbs_{name}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        if name == "impasto":
            cmd = [str(THUMBNAILS), str(src), str(out), "--size", "256", "--format", "jpg",
                   "--backend", "cpu"]
        elif name == "vipsthumbnail":
            cmd = ["vipsthumbnail", "-s", "256", "-o", f"{out}/%s.jpg[Q=85]"] + sorted(
                str(p) for p in src.glob("*.jpg"))
        else:
            cmd = [sys.executable, "-c", PILLOW_THUMBS, str(src), str(out)]
        secs, mb = timed(cmd)
        written = len(list(out.rglob("*.jpg")))
        rows[name] = (secs, mb, n / secs, written)
    return n, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=str(ROOT / "target/peers-photo"))
    ap.add_argument("--photo", help="a real JPEG to use instead of the generated 4000x3000")
    ap.add_argument("--thumbs", type=int, default=100)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--renders", type=int, default=200)
    ap.add_argument("--skip", default="", help="comma-separated: single,throughput,thumbs")
    args = ap.parse_args()
    work = Path(args.work)
    make_inputs(work, args)
    skip = set(filter(None, args.skip.split(",")))
    lines = [f"cores: {os.cpu_count()}"]
    if "single" not in skip:
        fonts = (ImageFont.truetype(str(work / "Inter-Bold.otf"), 56),
                 ImageFont.truetype(str(work / "Inter-Regular.otf"), 30))
        res = {
            "impasto": [impasto_single(work, j, args.runs) for j in ("poster", "card")],
            "pyvips": [median_ms(lambda: pyvips_poster(work), args.runs), None],
            "pillow": [median_ms(lambda: pillow_poster(work), args.runs),
                       median_ms(lambda: pillow_card(work, fonts), args.runs)],
        }
        (work / "out/pillow_card.jpg").write_bytes(pillow_card(work, fonts))
        sharp = json.loads(subprocess.run(
            ["node", str(ROOT / "benches/peers_photo.mjs"), str(work), str(args.runs),
             str(args.renders)], check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        res["sharp"] = [sharp["poster_ms"], sharp["card_ms"]]
        lines.append(f"sharp {sharp['sharp']} (libvips {sharp['libvips']}), concurrency "
                     f"{sharp['concurrency']}")
        lines.append("| job, one at a time (ms, median) | impasto (CLI process) | sharp | "
                     "pyvips | Pillow |")
        lines.append("|---|---:|---:|---:|---:|")
        for i, job in enumerate(["poster", "social card"]):
            cells = [res[k][i] for k in ("impasto", "sharp", "pyvips", "pillow")]
            lines.append(f"| {job} | " + " | ".join("-" if c is None else f"{c:.1f}"
                                                    for c in cells) + " |")
        if "throughput" not in skip:
            lines.append("")
            lines.append(f"| throughput, {args.renders} renders (renders/s) | impasto, no caches "
                         "| impasto, resamples reused | impasto, caches on (default) | sharp "
                         "| sharp, cache on (default) |")
            lines.append("|---|---:|---:|---:|---:|---:|")
            for job, key in (("poster", "poster_per_s"), ("social card", "card_per_s")):
                name = "poster" if job == "poster" else "card"
                rates = []
                # No caches: every render decodes and resamples, as sharp does.
                # Resamples reused: every render decodes its files, the
                # resampled-image cache serves unchanged ones (a service).
                # Caches on: the renderer as it comes; after the first render
                # the photo is neither decoded nor resampled again (sharp's
                # own cache, on by default, gives it nothing comparable).
                for flags in (["--no-cache"], ["--no-decode-cache"], []):
                    r = json.loads(subprocess.run(
                        [str(PHOTO_JOBS), str(work / f"{name}.json"), str(args.renders), *flags],
                        check=True, capture_output=True, text=True).stdout)
                    rates.append(r["per_s"])
                lines.append(f"| {job} | {rates[0]:.1f} | {rates[1]:.1f} | {rates[2]:.1f} "
                             f"| {sharp[key]:.1f} | {sharp[key + '_cached']:.1f} |")
    if "thumbs" not in skip:
        n, rows = thumbs(work)
        lines.append("")
        lines.append(f"| {n} JPEGs 6000x4000 -> 256 px | seconds | peak RSS (MB) | images/s "
                     "| written |")
        lines.append("|---|---:|---:|---:|---:|")
        for name, (secs, mb, rate, written) in rows.items():
            lines.append(f"| {name} | {secs:.2f} | {mb:.0f} | {rate:.1f} | {written} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
