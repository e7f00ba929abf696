#!/usr/bin/env python3
"""What a data: URL costs against the same file: `impasto batch` of social
cards (1200x630, a photo drawn with `cover` and a logo) whose image
variables name files, then the same rows holding the images as data: URLs.

Every row draws the same photo and logo, so the decoded-image cache
answers both runs after the first row: the difference is what a data: URL
costs each render, its base64 decoded and its bytes hashed (SHA-256), and
the larger rows read.

    python3 benches/data_urls.py [IMPASTO] [--rows N] [--photo-mp MP]

IMPASTO defaults to target/release/impasto. Needs Pillow and numpy.
"""

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image


def photo(mp: float) -> bytes:
    """A JPEG of about `mp` megapixels, smooth like a photo, quality 90."""
    w = int((mp * 1e6 * 3 / 2) ** 0.5)
    h = w * 2 // 3
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (h // 40 + 2, w // 40 + 2, 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize((w, h), Image.BICUBIC)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def run(impasto: str, folder: str, rows: str, out: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [impasto, "batch", "card.json", "--data", rows, "--output", out + "/{{row}}.jpg",
         "--no-system-fonts"],
        cwd=folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("impasto", nargs="?", default="target/release/impasto")
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--photo-mp", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    impasto = os.path.abspath(args.impasto)
    with tempfile.TemporaryDirectory() as d:
        jpeg = photo(args.photo_mp)
        logo = io.BytesIO()
        Image.new("RGBA", (256, 256), (230, 80, 40, 200)).save(logo, "PNG")
        logo = logo.getvalue()
        open(os.path.join(d, "photo.jpg"), "wb").write(jpeg)
        open(os.path.join(d, "logo.png"), "wb").write(logo)
        template = {
            "variables": {"photo": {"type": "image"}, "logo": {"type": "image"}},
            "width": 1200, "height": 630, "background": "#101820",
            "layers": [
                {"type": "image", "src": "{{photo}}", "width": 1200, "height": 630, "fit": "cover"},
                {"type": "image", "src": "{{logo}}", "x": 40, "y": 40, "width": 120, "height": 120},
            ],
        }
        json.dump(template, open(os.path.join(d, "card.json"), "w"))
        urls = {
            "photo": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode(),
            "logo": "data:image/png;base64," + base64.b64encode(logo).decode(),
        }
        with open(os.path.join(d, "files.jsonl"), "w") as f:
            for _ in range(args.rows):
                f.write(json.dumps({"photo": "photo.jpg", "logo": "logo.png"}) + "\n")
        with open(os.path.join(d, "urls.jsonl"), "w") as f:
            for _ in range(args.rows):
                f.write(json.dumps(urls) + "\n")
        print(f"photo {len(jpeg)} bytes ({args.photo_mp} MP), logo {len(logo)} bytes, "
              f"{args.rows} rows, {os.cpu_count()} CPUs")
        for name in ["files", "urls", "files", "urls"] * args.repeats:
            t = run(impasto, d, name + ".jsonl", "out-" + name)
            print(f"{name:5}: {t:6.2f} s, {args.rows / t:6.1f} cards/s")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
