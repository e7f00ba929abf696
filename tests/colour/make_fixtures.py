#!/usr/bin/env python3
"""Makes the colour-management fixtures of tests/colour.rs. Not run by CI:
run it by hand (Pillow with LittleCMS) when the fixtures must change, and
paste the table it prints into tests/colour.rs.

The ICC profiles are written here from the published primaries, white
points and transfer curves (no vendor ICC file is copied):

* Adobe RGB (1998): ICC v4 matrix/TRC, D65, gamma 563/256 as a `curv`.
* Display P3: P3 primaries, D65, the sRGB curve as a `para` (type 3).
* ProPhoto (ROMM RGB): D50, gamma 1.8 with ROMM's linear toe, `para` type 3.
* Grey, linear (gamma 1.0 `kTRC`): a grey profile far from sRGB's curve.

D65 profiles carry their colorants Bradford-adapted to D50, and a `chad`
tag, as ICC v4 requires. Each image is 16x16 blocks of flat colour, so a
q100 4:4:4 JPEG decodes to its colours (a block's centre), and a 1/8
DCT-scaled decode has one pixel per 8x8 block.

The expected numbers are LittleCMS's (through Pillow's ImageCms):
relative colorimetric intent, no black-point compensation, to LittleCMS's
built-in sRGB, applied to the pixels as libjpeg decodes them (JPEG) or as
written (PNG, WebP).
"""

import io
import struct
import sys
from pathlib import Path

from PIL import Image, ImageCms

OUT = Path(__file__).resolve().parent
D50 = (0.9642, 1.0, 0.8249)

COLOURS = [
    (200, 100, 50),
    (0, 0, 0),
    (255, 255, 255),
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (30, 200, 120),
    (128, 128, 128),
    (10, 20, 30),
    (240, 230, 140),
]
GREYS = [0, 10, 50, 100, 128, 180, 220, 255]
ALPHAS = [255, 200, 128, 64, 1, 0, 255, 30, 99, 254]


def s15(v):
    return struct.pack(">i", round(v * 65536))


def xyz_tag(x, y, z):
    return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)


def mluc(text):
    s = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(s), 28) + s


def curv_gamma(g256):
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, g256) + b"\0\0"


def para3(g, a, b, c, d):
    return b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(s15(v) for v in (g, a, b, c, d))


def xy_to_xyz(x, y):
    return (x / y, 1.0, (1 - x - y) / y)


def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def matvec(a, v):
    return [sum(a[i][k] * v[k] for k in range(3)) for i in range(3)]


def inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [
        [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
        [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
        [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
    ]


BRADFORD = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]


def bradford(src_white, dst_white):
    s = matvec(BRADFORD, src_white)
    d = matvec(BRADFORD, dst_white)
    scale = [[d[0] / s[0], 0, 0], [0, d[1] / s[1], 0], [0, 0, d[2] / s[2]]]
    return matmul(inv(BRADFORD), matmul(scale, BRADFORD))


def colorants(prims, white_xy):
    cols = [xy_to_xyz(*p) for p in prims]
    m = [[cols[j][i] for j in range(3)] for i in range(3)]
    w = xy_to_xyz(*white_xy)
    s = matvec(inv(m), w)
    m = [[m[i][j] * s[j] for j in range(3)] for i in range(3)]
    chad = bradford(w, D50)
    return matmul(chad, m), chad


def profile(space, tags):
    """An ICC v4.3 display profile: header, tag table, tag data."""
    count = len(tags)
    offset = 128 + 4 + 12 * count
    table, data, seen = b"", b"", {}
    for sig, body in tags:
        if body in seen:  # shared data (the three TRCs)
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
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x04300000, b"mntr", space, b"XYZ ")
    header += struct.pack(">6H", 2026, 11, 25, 0, 0, 0) + b"acsp" + b"\0" * 24
    header += struct.pack(">I", 0) + s15(D50[0]) + s15(D50[1]) + s15(D50[2])
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", count) + table + data


def rgb_profile(name, prims, white_xy, trc):
    m, chad = colorants(prims, white_xy)
    tags = [
        (b"desc", mluc(name)),
        (b"cprt", mluc("No copyright, use freely")),
        (b"wtpt", xyz_tag(*D50)),
        (b"rXYZ", xyz_tag(*[m[i][0] for i in range(3)])),
        (b"gXYZ", xyz_tag(*[m[i][1] for i in range(3)])),
        (b"bXYZ", xyz_tag(*[m[i][2] for i in range(3)])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    if white_xy != (0.3457, 0.3585):
        tags.append((b"chad", b"sf32\0\0\0\0" + b"".join(s15(v) for row in chad for v in row)))
    return profile(b"RGB ", tags)


D65 = (0.3127, 0.3290)
PROFILES = {
    "adobe-rgb": rgb_profile(
        "impasto test: Adobe RGB (1998) primaries",
        [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)],
        D65,
        curv_gamma(563),
    ),
    "display-p3": rgb_profile(
        "impasto test: Display P3 primaries",
        [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)],
        D65,
        para3(2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045),
    ),
    "prophoto": rgb_profile(
        "impasto test: ProPhoto (ROMM) primaries",
        [(0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)],
        (0.3457, 0.3585),
        para3(1.8, 1.0, 0.0, 1 / 16, 1 / 32),
    ),
}
GREY_PROFILE = profile(
    b"GRAY",
    [
        (b"desc", mluc("impasto test: linear grey")),
        (b"cprt", mluc("No copyright, use freely")),
        (b"wtpt", xyz_tag(*D50)),
        (b"kTRC", curv_gamma(256)),
    ],
)


def blocks(mode, values, alphas=None):
    img = Image.new(mode, (16 * len(values), 16))
    for i, v in enumerate(values):
        if alphas is not None:
            v = (*v, alphas[i])
        img.paste(v, (16 * i, 0, 16 * i + 16, 16))
    return img


def centres(img):
    return [img.getpixel((16 * i + 8, 8)) for i in range(img.width // 16)]


def main():
    srgb = ImageCms.createProfile("sRGB")
    rows = []
    for name, icc in PROFILES.items():
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        t = ImageCms.buildTransform(src, srgb, "RGB", "RGB", renderingIntent=1, flags=0)

        def expect(pixels):
            img = Image.new("RGB", (len(pixels), 1))
            img.putdata([tuple(p[:3]) for p in pixels])
            return list(ImageCms.applyTransform(img, t).getdata())

        png = blocks("RGBA", COLOURS, ALPHAS)
        png.save(OUT / f"{name}.png", icc_profile=icc)
        rows.append((f"{name}.png", COLOURS, expect(COLOURS)))
        jpg = blocks("RGB", COLOURS)
        jpg.save(OUT / f"{name}.jpg", quality=100, subsampling=0, icc_profile=icc)
        decoded = centres(Image.open(OUT / f"{name}.jpg").convert("RGB"))
        rows.append((f"{name}.jpg", decoded, expect(decoded)))
        if name == "display-p3":
            blocks("RGB", COLOURS).save(OUT / f"{name}.webp", lossless=True, icc_profile=icc)
            rows.append((f"{name}.webp", COLOURS, expect(COLOURS)))

    grey = ImageCms.ImageCmsProfile(io.BytesIO(GREY_PROFILE))
    t = ImageCms.buildTransform(grey, srgb, "L", "RGB", renderingIntent=1, flags=0)
    for ext in ["png", "jpg"]:
        img = blocks("L", GREYS)
        kw = {"quality": 100} if ext == "jpg" else {}
        img.save(OUT / f"grey-linear.{ext}", icc_profile=GREY_PROFILE, **kw)
        decoded = centres(Image.open(OUT / f"grey-linear.{ext}"))
        line = Image.new("L", (len(decoded), 1))
        line.putdata(decoded)
        got = list(ImageCms.applyTransform(line, t).getdata())
        rows.append((f"grey-linear.{ext}", [(g, g, g) for g in decoded], got))

    print(f"// LittleCMS {ImageCms.core.littlecms_version}, Pillow {Image.__version__}:")
    print("// (file, [(source pixel, LittleCMS sRGB)])")
    for file, src, want in rows:
        pairs = ", ".join(f"([{s[0]}, {s[1]}, {s[2]}], [{w[0]}, {w[1]}, {w[2]}])" for s, w in zip(src, want))
        print(f'("{file}", &[{pairs}]),')


if __name__ == "__main__":
    sys.exit(main())
