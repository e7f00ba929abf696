"""Writes tests/fonts/ImpastoVar.ttf: a variable TrueType font made for the
tests (CC0), family "Impasto Var", one `wght` axis from 200 to 800 (default
400) and a glyph "I", a bar whose width grows with the weight (50 font
units at 200, 100 at 400, 300 at 800). The text tests draw it at several
weights to show that a variable face is drawn at the weight asked for,
within its axis.

Also two static faces of the same family, to show how a variable face is
matched beside static ones: ImpastoVarBold.ttf (weight 700, a bar 600
units wide) and ImpastoVarItalic.ttf (italic, weight 500, 450 units).

And ImpastoPlain.ttf, family "Impasto Plain": one static face, weight 400,
its "I" a bar 100 units wide and 700 high, and its "*" a star of 60 sharp
spikes (radius 400 units, 100 between them), for the family without a bold
face that synthetic bold draws emboldened.

And the family "Impasto Fallback", whose one drawn character is U+F0041
(private use, which no other font has, so text of another family falls
back to it): ImpastoFallback500.ttf (weight 500, a bar 250 units wide),
ImpastoFallback700.ttf (Bold 700, 350 units) and ImpastoFallbackItalic.ttf
(Italic 400, 450 units), to show that a fallback family's face is the one
CSS picks; and ImpastoFallbackCondensed.ttf (Condensed 400, a bar 550 units
wide), whose one drawn character, U+F0042, no other face has; and
ImpastoFallbackRegular.ttf (Regular 400, its one character U+F0043), the
face CSS picks at 400, which has neither of the others.

Run from the repository root: python3 tests/fonts/make_variable.py
(needs fontTools: pip install fonttools).
"""

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib.tables.TupleVariation import TupleVariation
import math


def bar(width):
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((100 + width, 700))
    pen.lineTo((100 + width, 0))
    pen.closePath()
    return pen.glyph()


fb = FontBuilder(1000, isTTF=True)
fb.setupGlyphOrder([".notdef", "I", "space"])
fb.setupCharacterMap({0x49: "I", 0x20: "space"})
fb.setupGlyf({".notdef": bar(400), "I": bar(100), "space": TTGlyphPen(None).glyph()})
fb.setupHorizontalMetrics({".notdef": (600, 100), "I": (500, 100), "space": (300, 0)})
fb.setupHorizontalHeader(ascent=800, descent=-200)
fb.setupNameTable({"familyName": "Impasto Var", "styleName": "Regular",
                  "fullName": "Impasto Var Regular", "psName": "ImpastoVar-Regular",
                  "uniqueFontIdentifier": "ImpastoVar-Regular"})
fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200,
            usWeightClass=400)
fb.setupPost()
fb.setupFvar(axes=[("wght", 200, 400, 800, "Weight")], instances=[])
# Points of "I": the four corners, then four phantom points. The right
# edge (points 2 and 3) moves by +200 at 800 and -50 at 200.
heavy = [(0, 0), (0, 0), (200, 0), (200, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
light = [(0, 0), (0, 0), (-50, 0), (-50, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
fb.setupGvar({"I": [TupleVariation({"wght": (0, 1.0, 1.0)}, heavy),
                    TupleVariation({"wght": (-1.0, -1.0, 0)}, light)]})
fb.save("tests/fonts/ImpastoVar.ttf")


def star(spikes):
    pen = TTGlyphPen(None)
    points = []
    for i in range(2 * spikes):
        r = 400 if i % 2 == 0 else 100
        a = math.pi * i / spikes
        points.append((round(500 + r * math.sin(a)), round(400 + r * math.cos(a))))
    pen.moveTo(points[0])
    for p in points[1:]:
        pen.lineTo(p)
    pen.closePath()
    return pen.glyph()


def static(path, weight, width, italic, family="Impasto Var", style=None, char=0x49,
           with_star=False, width_class=5):
    fb = FontBuilder(1000, isTTF=True)
    glyphs = {".notdef": bar(400), "I": bar(width), "space": TTGlyphPen(None).glyph()}
    cmap = {char: "I", 0x20: "space"}
    metrics = {".notdef": (600, 100), "I": (width + 200, 100), "space": (300, 0)}
    if with_star:
        glyphs["star"] = star(60)
        cmap[0x2A] = "star"
        metrics["star"] = (1000, 100)
    fb.setupGlyphOrder(list(glyphs))
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    style = style or ("Italic" if italic else "Bold")
    ps = family.replace(" ", "")
    fb.setupNameTable({"familyName": family, "styleName": style,
                      "fullName": f"{family} {style}", "psName": f"{ps}-{style}",
                      "uniqueFontIdentifier": f"{ps}-{style}"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200,
                usWeightClass=weight, usWidthClass=width_class,
                fsSelection=0x01 if italic else (0x20 if weight >= 700 else 0x40))
    fb.setupPost(italicAngle=-12 if italic else 0)
    fb.font["head"].macStyle = 0x02 if italic else (0x01 if weight >= 700 else 0)
    fb.save(path)


static("tests/fonts/ImpastoVarBold.ttf", 700, 600, False)
static("tests/fonts/ImpastoVarItalic.ttf", 500, 450, True)
static("tests/fonts/ImpastoPlain.ttf", 400, 100, False, "Impasto Plain", "Regular",
       with_star=True)
static("tests/fonts/ImpastoFallback500.ttf", 500, 250, False, "Impasto Fallback", "Medium",
       0xF0041)
static("tests/fonts/ImpastoFallback700.ttf", 700, 350, False, "Impasto Fallback", "Bold",
       0xF0041)
static("tests/fonts/ImpastoFallbackItalic.ttf", 400, 450, True, "Impasto Fallback", "Italic",
       0xF0041)
static("tests/fonts/ImpastoFallbackCondensed.ttf", 400, 550, False, "Impasto Fallback",
       "Condensed", 0xF0042, width_class=3)
static("tests/fonts/ImpastoFallbackRegular.ttf", 400, 650, False, "Impasto Fallback",
       "Regular", 0xF0043)
