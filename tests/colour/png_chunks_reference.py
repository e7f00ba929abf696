#!/usr/bin/env python3
"""Reference sRGB values for the PNG cICP and gAMA/cHRM cases of
tests/colour.rs, from the colour maths alone (no colour-management
library): decode the transfer curve to linear light, RGB to XYZ with the
matrix made from the primaries and white point, Bradford-adapt the white to
sRGB's D65 (what relative colorimetric through a D50 PCS amounts to), XYZ
to linear sRGB, clip, encode with the sRGB curve, round. Not run by CI: run
it by hand and paste the table it prints into tests/colour.rs.
"""

COLOURS = [
    (200, 100, 50), (0, 0, 0), (255, 255, 255), (255, 0, 0), (0, 255, 0),
    (0, 0, 255), (30, 200, 120), (128, 128, 128), (10, 20, 30), (240, 230, 140),
]

D65 = (0.3127, 0.3290)
PRIMARIES = {
    "bt709": ([(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)], D65),
    "p3": ([(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], D65),
    "bt2020": ([(0.708, 0.292), (0.170, 0.797), (0.131, 0.046)], D65),
    "adobe": ([(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], D65),
    # cHRM as stored, times 100000, for the gAMA/cHRM cases.
    "wide-d50": ([(0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)], (0.3457, 0.3585)),
}
ALPHA, BETA = 1.09929682680944, 0.018053968510807


def srgb_decode(v):
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def srgb_encode(v):
    v = min(1.0, max(0.0, v))
    return v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def bt709_decode(v):
    return v / 4.5 if v < 4.5 * BETA else ((v + ALPHA - 1) / ALPHA) ** (1 / 0.45)


def power(g):
    return lambda v: v**g


def xyz(x, y):
    return [x / y, 1.0, (1 - x - y) / y]


def inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [
        [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
        [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
        [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
    ]


def mul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def vec(a, v):
    return [sum(a[i][k] * v[k] for k in range(3)) for i in range(3)]


def rgb_to_xyz(prims, white):
    cols = [xyz(*p) for p in prims]
    m = [[cols[j][i] for j in range(3)] for i in range(3)]
    s = vec(inv(m), xyz(*white))
    return [[m[i][j] * s[j] for j in range(3)] for i in range(3)]


BRADFORD = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]


def adapt(src, dst):
    s, d = vec(BRADFORD, xyz(*src)), vec(BRADFORD, xyz(*dst))
    scale = [[d[0] / s[0], 0, 0], [0, d[1] / s[1], 0], [0, 0, d[2] / s[2]]]
    return mul(inv(BRADFORD), mul(scale, BRADFORD))


def convert(prims, white, decode):
    srgb = inv(rgb_to_xyz(*PRIMARIES["bt709"]))
    m = mul(srgb, mul(adapt(white, D65), rgb_to_xyz(prims, white)))
    out = []
    for c in COLOURS:
        lin = vec(m, [decode(v / 255) for v in c])
        out.append(tuple(round(255 * srgb_encode(v)) for v in lin))
    return out


CASES = [
    ("cICP 12/13 (Display P3, sRGB curve)", "p3", srgb_decode),
    ("cICP 9/13 (BT.2020, sRGB curve)", "bt2020", srgb_decode),
    ("cICP 9/1 (BT.2020, BT.709 curve)", "bt2020", bt709_decode),
    ("cICP 1/4 (BT.709, gamma 2.2)", "bt709", power(2.2)),
    ("cICP 1/8 (BT.709, linear)", "bt709", power(1.0)),
    ("gAMA 1/1.8, no cHRM", "bt709", power(1.8)),
    ("gAMA 1/2.2, Adobe RGB cHRM", "adobe", power(2.2)),
    ("gAMA 1.0, wide D50 cHRM", "wide-d50", power(1.0)),
]

for name, prims, decode in CASES:
    p, w = PRIMARIES[prims]
    got = convert(p, w, decode)
    print(f"// {name}")
    print("&[" + ", ".join(f"[{r}, {g}, {b}]" for r, g, b in got) + "],")
