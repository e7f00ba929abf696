#!/usr/bin/env python3
"""Peers of `cargo bench --bench composite` (group `composite/10x2048`):
libvips (through pyvips) and Pillow composite the same ten 2048x2048 RGBA
layers source-over, timed the same way (median of N runs, pixels already in
memory, result forced into memory).

    pip install pyvips pillow numpy   # and Debian's libvips42
    python3 benches/peers.py

The layer formula matches `layer_image` in benches/composite.rs.
"""
import os
import statistics
import time

import numpy as np

SIZE = 2048
LAYERS = 10
RUNS = 15


def layer(k):
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.uint32)
    v = x * 7 + y * 13 + k * 31
    return np.dstack([
        v & 255,
        (v >> 3) & 255,
        (x ^ y) & 255,
        (x + y + k * 17) & 255,
    ]).astype(np.uint8)


def timed(name, fn):
    fn()  # warm up
    samples = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    print(f"{name:<40} median {statistics.median(samples):8.1f} ms   min {min(samples):8.1f} ms")


def main():
    layers = [layer(k) for k in range(LAYERS)]
    print(f"{LAYERS} layers of {SIZE}x{SIZE} RGBA, {os.cpu_count()} CPUs")

    try:
        import pyvips
        vimgs = [pyvips.Image.new_from_memory(l.tobytes(), SIZE, SIZE, 4, "uchar") for l in layers]
        # Copy into vips-owned memory so the timing covers compositing only.
        vimgs = [v.copy(interpretation="srgb").copy_memory() for v in vimgs]
        ver = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"

        def vips_over():
            out = vimgs[0].composite(vimgs[1:], "over")
            out.cast("uchar").write_to_memory()

        timed(f"libvips {ver} composite over", vips_over)
    except Exception as e:  # noqa: BLE001 - report and carry on
        print(f"libvips: not measured ({e})")

    try:
        from PIL import Image, __version__ as pil_version
        pimgs = [Image.frombuffer("RGBA", (SIZE, SIZE), l.tobytes(), "raw", "RGBA", 0, 1) for l in layers]

        def pillow_over():
            out = pimgs[0]
            for im in pimgs[1:]:
                out = Image.alpha_composite(out, im)
            out.tobytes()

        timed(f"Pillow {pil_version} alpha_composite", pillow_over)
    except Exception as e:  # noqa: BLE001
        print(f"Pillow: not measured ({e})")


if __name__ == "__main__":
    main()
