#!/usr/bin/env python3
"""Makes the CMYK fixtures of tests/colour.rs. Not run by CI: run it by hand
(Pillow with LittleCMS) when they must change, and paste the table it
prints into tests/colour.rs.

The profile (embedded in cmyk.jpg) is written here from a formula (no vendor
profile is copied; no copyright, use freely): an ICC v2.4 output profile,
CMYK to Lab (D50), its A2B0 and A2B1 one `mft2` (lut16) table with
identity input and output curves and a 9x9x9x9 grid. The grid holds a
simple subtractive model: ink c, m, y, k in 0..1 give the linear-light
filter colours r = (1 - c)^1.6 (1 - k)^1.9 (and g from m, b from y), taken
as linear sRGB, adapted to D50 (Bradford) and written as Lab. Paper is
the D50 white, full black is Lab (0, 0, 0).

cmyk.jpg (with the profile) and cmyk-untagged.jpg are 16x16 blocks of flat
CMYK colours, written by libjpeg through Pillow with an Adobe APP14 marker
and inverted samples, as Photoshop writes them; q100, no subsampling.

The expected numbers are LittleCMS's (through Pillow's ImageCms):
relative colorimetric, no black-point compensation, to LittleCMS's
built-in sRGB, applied to the CMYK ink values as libjpeg decodes them.
"""

import io
import struct
import sys
from pathlib import Path

from PIL import Image, ImageCms

OUT = Path(__file__).resolve().parent
D50 = (0.9642, 1.0, 0.8249)
GRID = 9

COLOURS = [
    (0, 0, 0, 0),
    (0, 0, 0, 255),
    (255, 0, 0, 0),
    (0, 255, 0, 0),
    (0, 0, 255, 0),
    (20, 90, 180, 10),
    (128, 128, 128, 0),
    (0, 0, 0, 128),
    (200, 30, 60, 40),
    (60, 200, 100, 150),
    (10, 250, 240, 5),
    (255, 255, 255, 255),
]


def s15(v):
    return struct.pack(">i", round(v * 65536))


def xyz_tag(x, y, z):
    return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)


def desc_v2(text):
    a = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(a)) + a + struct.pack(">II", 0, 0) + b"\0" * 70


def text_v2(text):
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def matvec(a, v):
    return [sum(a[i][k] * v[k] for k in range(3)) for i in range(3)]


# Linear sRGB (D65) to XYZ, then Bradford D65 -> D50 (the matrix sRGB ICC
# profiles carry as colorants, ICC v4 sRGB profile).
SRGB_D50 = [
    [0.4360747, 0.3850649, 0.1430804],
    [0.2225045, 0.7168786, 0.0606169],
    [0.0139322, 0.0971045, 0.7141733],
]


def lab(xyz):
    def f(t):
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = (f(v / w) for v, w in zip(xyz, D50))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def model(c, m, y, k):
    rgb = [(1 - v) ** 1.6 * (1 - k) ** 1.9 for v in (c, m, y)]
    return lab(matvec(SRGB_D50, rgb))


def lab16_v2(L, a, b):
    """The legacy (v2, lut16) Lab encoding: L 0..100 -> 0..0xFF00,
    a and b -128..127.996 -> 0..0xFFFF."""
    def clamp(v):
        return max(0, min(65535, round(v)))

    return clamp(L * 65280 / 100), clamp((a + 128) * 256), clamp((b + 128) * 256)


def mft2():
    body = b"mft2\0\0\0\0" + struct.pack(">BBBB", 4, 3, GRID, 0)
    body += b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    body += struct.pack(">HH", 2, 2)
    body += struct.pack(">8H", *([0, 65535] * 4))
    n = GRID - 1
    for c in range(GRID):
        for m in range(GRID):
            for y in range(GRID):
                for k in range(GRID):
                    body += struct.pack(">3H", *lab16_v2(*model(c / n, m / n, y / n, k / n)))
    body += struct.pack(">6H", *([0, 65535] * 3))
    return body


def profile():
    lut = mft2()
    tags = [
        (b"desc", desc_v2("impasto test CMYK (formula, 9-point lut16)")),
        (b"cprt", text_v2("No copyright, use freely")),
        (b"wtpt", xyz_tag(*D50)),
        (b"A2B0", lut),
        (b"A2B1", lut),
    ]
    count = len(tags)
    offset = 128 + 4 + 12 * count
    table, data, seen = b"", b"", {}
    for sig, body in tags:
        if body in seen:
            table += struct.pack(">4sII", sig, *seen[body])
            continue
        while (offset + len(data)) % 4:
            data += b"\0"
        at = offset + len(data)
        seen[body] = (at, len(body))
        table += struct.pack(">4sII", sig, at, len(body))
        data += body
    while len(data) % 4:
        data += b"\0"
    size = offset + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x02400000, b"prtr", b"CMYK", b"Lab ")
    header += struct.pack(">6H", 2026, 11, 26, 0, 0, 0) + b"acsp" + b"\0" * 24
    header += struct.pack(">I", 1) + s15(D50[0]) + s15(D50[1]) + s15(D50[2])
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", count) + table + data


def blocks(values):
    img = Image.new("CMYK", (16 * len(values), 16))
    for i, v in enumerate(values):
        img.paste(v, (16 * i, 0, 16 * i + 16, 16))
    return img


def main():
    icc = profile()
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.createProfile("sRGB")
    t = ImageCms.buildTransform(src, srgb, "CMYK", "RGB", renderingIntent=1, flags=0)
    blocks(COLOURS).save(OUT / "cmyk.jpg", quality=100, subsampling=0, icc_profile=icc)
    blocks(COLOURS).save(OUT / "cmyk-untagged.jpg", quality=100, subsampling=0)
    decoded = Image.open(OUT / "cmyk.jpg")
    assert decoded.info.get("adobe") is not None, "libjpeg wrote an Adobe marker"
    got = [decoded.getpixel((16 * i + 8, 8)) for i in range(len(COLOURS))]
    line = Image.new("CMYK", (len(got), 1))
    line.putdata(got)
    want = list(ImageCms.applyTransform(line, t).get_flattened_data())
    print(f"// LittleCMS {ImageCms.core.littlecms_version}, Pillow {Image.__version__}:")
    print("// (CMYK ink as libjpeg decodes cmyk.jpg, LittleCMS sRGB)")
    for s, w in zip(got, want):
        print(f"([{s[0]}, {s[1]}, {s[2]}, {s[3]}], [{w[0]}, {w[1]}, {w[2]}]),")


if __name__ == "__main__":
    sys.exit(main())
