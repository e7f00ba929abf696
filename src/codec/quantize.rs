//! A palette for GIF output, shared by every frame of an animation.
//!
//! Frames holding at most 256 distinct opaque colours (255 when some
//! pixels are transparent) get exactly those colours, and every pixel its
//! own colour. Otherwise the palette is learnt by NeuQuant (`color_quant`,
//! BSD-3-Clause, the quantizer the `image` crate uses) from the opaque
//! pixels of all frames (a sample of at most 2^21 of them), and pixels are
//! mapped to it with Floyd-Steinberg error diffusion. Alpha is one bit:
//! below 128 a pixel is transparent, at 128 and above it shows its colour.

use std::collections::HashMap;

use color_quant::NeuQuant;
use image::RgbaImage;

/// Most pixels NeuQuant learns from.
const MAX_SAMPLE: usize = 1 << 21;
/// NeuQuant's sampling factor (1 best, 30 fastest; 10 is its usual
/// value), for samples larger than [`SMALL_SAMPLE`] pixels; smaller ones
/// are learnt from every pixel.
const SAMPLE_FACTOR: i32 = 10;
const SMALL_SAMPLE: usize = 1 << 18;

enum Mapping {
    Exact(HashMap<[u8; 3], u8>),
    Learnt(NeuQuant),
}

/// A palette of at most 256 entries, one of them transparent when any
/// frame has a transparent pixel.
pub(crate) struct Palette {
    rgb: Vec<u8>,
    transparent: Option<u8>,
    mapping: Mapping,
}

fn is_transparent(p: &image::Rgba<u8>) -> bool {
    p[3] < 128
}

impl Palette {
    /// The palette for these frames.
    pub(crate) fn for_frames(frames: &[&RgbaImage]) -> Palette {
        let any_transparent = frames.iter().any(|f| f.pixels().any(is_transparent));
        let colours = if any_transparent { 255 } else { 256 };
        let (mut rgb, mapping) = match super::gif::distinct_colours(frames, colours) {
            Some(exact) => {
                let mut rgb = vec![0u8; exact.len() * 3];
                for (c, &i) in &exact {
                    rgb[i as usize * 3..i as usize * 3 + 3].copy_from_slice(c);
                }
                (rgb, Mapping::Exact(exact))
            }
            None => {
                let sample = sample(frames);
                let factor = if sample.len() / 4 <= SMALL_SAMPLE {
                    1
                } else {
                    SAMPLE_FACTOR
                };
                let nq = NeuQuant::new(factor, colours, &sample);
                (nq.color_map_rgb(), Mapping::Learnt(nq))
            }
        };
        let transparent = any_transparent.then(|| {
            rgb.extend_from_slice(&[0, 0, 0]);
            (rgb.len() / 3 - 1) as u8
        });
        if rgb.is_empty() {
            rgb.extend_from_slice(&[0, 0, 0]);
        }
        Palette {
            rgb,
            transparent,
            mapping,
        }
    }

    /// The palette as RGB triples.
    pub(crate) fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The transparent index, if any frame needs one.
    pub(crate) fn transparent(&self) -> Option<u8> {
        self.transparent
    }

    /// `img`'s pixels as palette indices (dithered with a learnt palette).
    /// With `before` (the previous frame and its indices), a pixel that
    /// has not changed keeps its index, and the dithering error of the
    /// pixels that did never spreads into it: still areas stay the same
    /// from frame to frame.
    pub(crate) fn index(&self, img: &RgbaImage, before: Option<(&RgbaImage, &[u8])>) -> Vec<u8> {
        let t = self.transparent.unwrap_or(0);
        match &self.mapping {
            Mapping::Exact(map) => img
                .pixels()
                .map(|p| {
                    if is_transparent(p) {
                        t
                    } else {
                        // Every opaque colour of every frame is in the map.
                        map.get(&[p[0], p[1], p[2]]).copied().unwrap_or(0)
                    }
                })
                .collect(),
            Mapping::Learnt(nq) => self.dither(img, nq, t, before),
        }
    }

    /// Floyd-Steinberg: each pixel's rounding error goes 7/16 right, 3/16
    /// below left, 5/16 below, 1/16 below right (transparent pixels take
    /// and pass on none).
    fn dither(
        &self,
        img: &RgbaImage,
        nq: &NeuQuant,
        t: u8,
        before: Option<(&RgbaImage, &[u8])>,
    ) -> Vec<u8> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let before = before.filter(|(b, i)| b.dimensions() == img.dimensions() && i.len() == w * h);
        let mut out = vec![t; w * h];
        // Errors in 1/16 units, for this row and the next, with a pixel of
        // margin on both sides.
        let mut cur = vec![[0i32; 3]; w + 2];
        let mut next = vec![[0i32; 3]; w + 2];
        for y in 0..h {
            for x in 0..w {
                let p = img.get_pixel(x as u32, y as u32);
                if is_transparent(p) {
                    continue;
                }
                if let Some((b, indices)) = before {
                    if b.get_pixel(x as u32, y as u32) == p {
                        // Unchanged: the same index, and the error meant
                        // for it is dropped.
                        out[y * w + x] = indices[y * w + x];
                        continue;
                    }
                }
                let mut want = [0i32; 3];
                for c in 0..3 {
                    want[c] = (p[c] as i32 + cur[x + 1][c] / 16).clamp(0, 255);
                }
                let i = nq.index_of(&[want[0] as u8, want[1] as u8, want[2] as u8, 255]);
                out[y * w + x] = i as u8;
                for c in 0..3 {
                    let e = want[c] - self.rgb[i * 3 + c] as i32;
                    cur[x + 2][c] += e * 7;
                    next[x][c] += e * 3;
                    next[x + 1][c] += e * 5;
                    next[x + 2][c] += e;
                }
            }
            std::mem::swap(&mut cur, &mut next);
            next.iter_mut().for_each(|e| *e = [0; 3]);
        }
        out
    }
}

/// Opaque pixels of all frames (alpha set to 255), at most [`MAX_SAMPLE`]
/// of them, evenly strided.
fn sample(frames: &[&RgbaImage]) -> Vec<u8> {
    let total: usize = frames.iter().map(|f| f.as_raw().len() / 4).sum();
    let stride = total.div_ceil(MAX_SAMPLE).max(1);
    let mut out = Vec::with_capacity(total.min(MAX_SAMPLE) * 4);
    let mut k = 0usize;
    for f in frames {
        for p in f.pixels() {
            k += 1;
            if !k.is_multiple_of(stride) || is_transparent(p) {
                continue;
            }
            out.extend_from_slice(&[p[0], p[1], p[2], 255]);
        }
    }
    if out.is_empty() {
        out.extend_from_slice(&[0, 0, 0, 255]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_colours_are_kept_exactly_with_a_transparent_index() {
        let img = RgbaImage::from_fn(4, 1, |x, _| match x {
            0 => image::Rgba([255, 0, 0, 255]),
            1 => image::Rgba([0, 0, 255, 200]),
            _ => image::Rgba([9, 9, 9, 0]),
        });
        let p = Palette::for_frames(&[&img]);
        let t = p.transparent().unwrap();
        let idx = p.index(&img, None);
        assert_eq!(idx[2], t);
        assert_eq!(idx[3], t);
        assert_eq!(&p.rgb()[idx[0] as usize * 3..][..3], &[255, 0, 0]);
        assert_eq!(&p.rgb()[idx[1] as usize * 3..][..3], &[0, 0, 255]);
    }

    #[test]
    fn a_smooth_gradient_is_dithered_to_a_close_average() {
        // 64x64 with 4096 colours: the palette is learnt.
        let img = RgbaImage::from_fn(64, 64, |x, y| {
            image::Rgba([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8, 255])
        });
        let p = Palette::for_frames(&[&img]);
        assert!(p.transparent().is_none());
        assert!(p.rgb().len() <= 256 * 3);
        let idx = p.index(&img, None);
        // The mean of every 8x8 block off the edges (where the palette's
        // hull may not reach the source's extremes) stays within 3 levels.
        for by in 1..7 {
            for bx in 1..7 {
                for c in 0..3 {
                    let (mut a, mut b) = (0i64, 0i64);
                    for y in by * 8..by * 8 + 8 {
                        for x in bx * 8..bx * 8 + 8 {
                            a += img.get_pixel(x, y)[c] as i64;
                            b += p.rgb()[idx[(y * 64 + x) as usize] as usize * 3 + c] as i64;
                        }
                    }
                    assert!(
                        (a - b).abs() <= 3 * 64,
                        "block {bx},{by} channel {c}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
