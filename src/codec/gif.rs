//! GIF in and out, with the `gif` crate.
//!
//! In: frames composited as browsers show them. The canvas (the logical
//! screen) starts transparent; each frame's pixels that are not its
//! transparent index are drawn into its rectangle (clipped to the screen);
//! the canvas is then the frame shown; afterwards its disposal applies:
//! `Keep`/unspecified leave the canvas, `Background` clears the frame's
//! rectangle to transparent (browsers ignore the background colour),
//! `Previous` restores the canvas as it was before the frame was drawn.
//!
//! Out: every frame is the full canvas, indexed against one palette shared
//! by all frames (so unchanged areas stay identical from frame to frame):
//! the exact colours when the frames hold at most 256 (255 with
//! transparency), otherwise a NeuQuant palette (`color_quant`, BSD-3)
//! with Floyd-Steinberg dithering. Alpha is GIF's one bit: pixels with
//! alpha below 128 become the transparent index.

use std::collections::HashMap;
use std::sync::Arc;

use image::RgbaImage;

use super::anim::{Animation, AnimationInfo, Delay, Frame, Loop};
use super::DecodeError;

fn options(max_pixels: u64, skip: bool) -> gif::DecodeOptions {
    let mut o = gif::DecodeOptions::new();
    o.set_color_output(gif::ColorOutput::Indexed);
    // One byte per pixel of a frame, indexed.
    let bytes = std::num::NonZeroU64::new(max_pixels.max(1)).unwrap_or(std::num::NonZeroU64::MIN);
    o.set_memory_limit(gif::MemoryLimit::Bytes(bytes));
    o.skip_frame_decoding(skip);
    o
}

/// The file to read: `bytes`, with GIF's trailer (`;`) after them when
/// they lack it, as some encoders and cut-off downloads leave them (every
/// frame whole, only the last byte missing: browsers and Pillow show such
/// files). A file cut inside a frame still fails.
fn with_trailer(bytes: &[u8]) -> impl std::io::Read + '_ {
    use std::io::Read;
    let trailer: &[u8] = if bytes.last() == Some(&b';') {
        b""
    } else {
        b";"
    };
    bytes.chain(trailer)
}

fn bad(e: gif::DecodingError) -> DecodeError {
    DecodeError(format!("truncated or corrupt GIF file: {e}"))
}

/// The screen size and frame count, walking the blocks without
/// decompressing any; refuses a screen or a frame of more than
/// `max_pixels` pixels.
pub(crate) fn scan(bytes: &[u8], max_pixels: u64) -> Result<AnimationInfo, DecodeError> {
    let mut d = options(max_pixels, true)
        .read_info(with_trailer(bytes))
        .map_err(|e| DecodeError(format!("not a valid GIF file: {e}")))?;
    let size = (d.width() as u32, d.height() as u32);
    check_pixels(size, max_pixels, "image")?;
    let mut frames = 0u32;
    // With decoding skipped, each frame's data is copied still compressed.
    while let Some(f) = d.read_next_frame().map_err(bad)? {
        check_pixels((f.width as u32, f.height as u32), max_pixels, "frame")?;
        frames += 1;
    }
    if frames == 0 {
        return Err(DecodeError("GIF file has no frames".into()));
    }
    Ok(AnimationInfo { size, frames })
}

fn check_pixels((w, h): (u32, u32), max_pixels: u64, what: &str) -> Result<(), DecodeError> {
    let pixels = w as u64 * h as u64;
    if pixels > max_pixels {
        return Err(DecodeError(format!(
            "decoded {what} would be {w}x{h} = {pixels} pixels, over the limit of {max_pixels} pixels (max_image_pixels)"
        )));
    }
    if pixels == 0 && what == "image" {
        return Err(DecodeError(format!("image has no pixels ({w}x{h})")));
    }
    Ok(())
}

/// Decodes the first `stop` frames (all of them with `usize::MAX`); the
/// caller has checked the headers ([`scan`]).
pub(crate) fn decode(bytes: &[u8], max_pixels: u64, stop: usize) -> Result<Animation, DecodeError> {
    let mut d = options(max_pixels, false)
        .read_info(with_trailer(bytes))
        .map_err(|e| DecodeError(format!("not a valid GIF file: {e}")))?;
    let (width, height) = (d.width() as u32, d.height() as u32);
    let loop_count = match d.repeat() {
        gif::Repeat::Infinite => Loop::Forever,
        gif::Repeat::Finite(n) => Loop::Times(n as u32 + 1),
    };
    let global: Option<Vec<u8>> = d.global_palette().map(<[u8]>::to_vec);
    let mut canvas = RgbaImage::new(width, height);
    let mut frames = Vec::new();
    while frames.len() < stop {
        let Some(f) = d.read_next_frame().map_err(bad)? else {
            break;
        };
        let palette = f.palette.as_deref().or(global.as_deref()).unwrap_or(&[]);
        let before = (f.dispose == gif::DisposalMethod::Previous).then(|| canvas.clone());
        let rect = Rect {
            left: f.left as u32,
            top: f.top as u32,
            width: f.width as u32,
            height: f.height as u32,
        };
        draw(&mut canvas, &rect, &f.buffer, palette, f.transparent);
        frames.push(Frame {
            image: Arc::new(canvas.clone()),
            delay: Delay::from_centis(f.delay as u32),
        });
        match f.dispose {
            gif::DisposalMethod::Background => clear(&mut canvas, &rect),
            gif::DisposalMethod::Previous => {
                if let Some(b) = before {
                    canvas = b;
                }
            }
            gif::DisposalMethod::Keep | gif::DisposalMethod::Any => {}
        }
    }
    if frames.is_empty() {
        return Err(DecodeError("GIF file has no frames".into()));
    }
    Ok(Animation {
        width,
        height,
        frames,
        loop_count,
    })
}

/// A frame's rectangle on the screen.
struct Rect {
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

impl Rect {
    /// The rows and columns of the rectangle inside a `w` x `h` canvas.
    fn clipped(&self, w: u32, h: u32) -> (std::ops::Range<u32>, std::ops::Range<u32>) {
        let x1 = (self.left as u64 + self.width as u64).min(w as u64) as u32;
        let y1 = (self.top as u64 + self.height as u64).min(h as u64) as u32;
        (self.left.min(x1)..x1, self.top.min(y1)..y1)
    }
}

/// Draws the frame's indexed pixels into `canvas`: the transparent index
/// leaves the canvas as it is; an index past the palette is opaque black
/// (as browsers draw it).
fn draw(
    canvas: &mut RgbaImage,
    rect: &Rect,
    indices: &[u8],
    palette: &[u8],
    transparent: Option<u8>,
) {
    let (xs, ys) = rect.clipped(canvas.width(), canvas.height());
    for y in ys {
        let row = (y - rect.top) as usize * rect.width as usize;
        for x in xs.clone() {
            let Some(&i) = indices.get(row + (x - rect.left) as usize) else {
                continue;
            };
            if Some(i) == transparent {
                continue;
            }
            let c = palette
                .get(i as usize * 3..i as usize * 3 + 3)
                .unwrap_or(&[0, 0, 0]);
            canvas.put_pixel(x, y, image::Rgba([c[0], c[1], c[2], 255]));
        }
    }
}

fn clear(canvas: &mut RgbaImage, rect: &Rect) {
    let (xs, ys) = rect.clipped(canvas.width(), canvas.height());
    for y in ys {
        for x in xs.clone() {
            canvas.put_pixel(x, y, image::Rgba([0, 0, 0, 0]));
        }
    }
}

/// Encodes full-canvas frames as an animated GIF (one frame: a still GIF)
/// with their delays (rounded to hundredths) and loop count.
pub(crate) fn encode(
    frames: &[&RgbaImage],
    delays: &[Delay],
    loop_count: Loop,
) -> Result<Vec<u8>, String> {
    let Some(first) = frames.first() else {
        return Err("an animation needs at least one frame".into());
    };
    let (w, h) = first.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(format!("{w}x{h} is larger than GIF's 65535x65535"));
    };
    let palette = super::quantize::Palette::for_frames(frames);
    let mut out = Vec::new();
    {
        let mut enc =
            gif::Encoder::new(&mut out, w16, h16, palette.rgb()).map_err(|e| e.to_string())?;
        match loop_count {
            Loop::Forever => enc.set_repeat(gif::Repeat::Infinite),
            // NETSCAPE 0 would mean forever: a single play has no block.
            Loop::Times(0 | 1) => Ok(()),
            Loop::Times(n) => enc.set_repeat(gif::Repeat::Finite((n - 1).min(65535) as u16)),
        }
        .map_err(|e| e.to_string())?;
        let mut before: Option<(&RgbaImage, Vec<u8>)> = None;
        for (img, delay) in frames.iter().zip(delays) {
            let indices = palette.index(img, before.as_ref().map(|(b, i)| (*b, i.as_slice())));
            let delay = delay.centis().min(65535) as u16;
            let frame = match (&before, palette.transparent()) {
                // Without transparency each frame after the first is drawn
                // over the one before (kept): only the rectangle where the
                // indices changed is written.
                (Some((_, previous)), None) => {
                    let (x0, y0, cw, ch) = changed_rect(previous, &indices, w as usize);
                    let mut buffer = Vec::with_capacity(cw * ch);
                    for y in y0..y0 + ch {
                        let row = y * w as usize;
                        buffer.extend_from_slice(&indices[row + x0..row + x0 + cw]);
                    }
                    gif::Frame {
                        // Within the canvas: u16 like it.
                        left: x0 as u16,
                        top: y0 as u16,
                        width: cw as u16,
                        height: ch as u16,
                        delay,
                        dispose: gif::DisposalMethod::Keep,
                        buffer: std::borrow::Cow::Owned(buffer),
                        ..gif::Frame::default()
                    }
                }
                _ => gif::Frame {
                    width: w16,
                    height: h16,
                    delay,
                    // Each frame is the whole canvas: its transparent pixels
                    // must show nothing of the frame before.
                    dispose: if palette.transparent().is_some() {
                        gif::DisposalMethod::Background
                    } else {
                        gif::DisposalMethod::Keep
                    },
                    transparent: palette.transparent(),
                    buffer: std::borrow::Cow::Borrowed(&indices),
                    ..gif::Frame::default()
                },
            };
            enc.write_frame(&frame).map_err(|e| e.to_string())?;
            drop(frame);
            before = Some((img, indices));
        }
    }
    Ok(out)
}

/// The smallest rectangle `(x, y, width, height)` of a `w`-wide canvas
/// holding every index that differs between `a` and `b`; one pixel at the
/// origin when none does (a GIF frame holds at least one).
fn changed_rect(a: &[u8], b: &[u8], w: usize) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (y, (ra, rb)) in a.chunks_exact(w).zip(b.chunks_exact(w)).enumerate() {
        if ra == rb {
            continue;
        }
        // Rows differ: their first and last differing columns.
        let first = ra.iter().zip(rb).position(|(p, q)| p != q).unwrap_or(0);
        let last = ra
            .iter()
            .zip(rb)
            .rposition(|(p, q)| p != q)
            .unwrap_or(first);
        x0 = x0.min(first);
        x1 = x1.max(last + 1);
        y0 = y0.min(y);
        y1 = y + 1;
    }
    if x0 == usize::MAX {
        (0, 0, 1, 1)
    } else {
        (x0, y0, x1 - x0, y1 - y0)
    }
}

/// Colour counts, for the exact palette: the distinct opaque colours of
/// `frames`, `None` past `max`.
pub(crate) fn distinct_colours(frames: &[&RgbaImage], max: usize) -> Option<HashMap<[u8; 3], u8>> {
    let mut seen: HashMap<[u8; 3], u8> = HashMap::new();
    for img in frames {
        for p in img.pixels() {
            if p[3] < 128 {
                continue;
            }
            let c = [p[0], p[1], p[2]];
            if !seen.contains_key(&c) {
                if seen.len() == max {
                    return None;
                }
                let i = seen.len() as u8;
                seen.insert(c, i);
            }
        }
    }
    Some(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_counts_round_trip_through_netscape_blocks() {
        let img = RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 255]));
        for lc in [Loop::Forever, Loop::Times(1), Loop::Times(4)] {
            let bytes = encode(&[&img], &[Delay::from_centis(5)], lc).unwrap();
            let back = decode(&bytes, 100, usize::MAX).unwrap();
            assert_eq!(back.loop_count, lc);
            assert_eq!(back.frames[0].delay, Delay::from_centis(5));
            assert_eq!(*back.frames[0].image, img);
        }
    }
}
