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
    // An extension of a label the decoder does not know (a vendor's
    // application data, say) is skipped over its sub-blocks, as the GIF89a
    // specification asks and as browsers and Pillow do; by default the
    // crate refuses the file. (Stray bytes between blocks, which the
    // crate would read as the start of such an extension, are dropped
    // first: `gif_blocks`.)
    o.allow_unknown_blocks(true);
    o
}

/// The file to read: `bytes`, with GIF's trailer (`;`) after them when
/// they lack it, as some encoders and cut-off downloads leave them (every
/// frame whole, only the last byte missing: browsers and Pillow show such
/// files). A file cut inside a later frame is cut back to its whole frames
/// first (`gif_blocks::readable`); one cut inside its first frame fails.
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
    read_cut(bytes, |b| scan_readable(b, max_pixels)).map(|(info, _, _)| info)
}

/// `read` of the file made readable (`gif_blocks::readable`); when that
/// fails and the last frame was only taken as whole (its terminator
/// missing, its data perhaps cut too), `read` again without that frame,
/// if one is left. Also the file as read, and whether it was read again.
fn read_cut<T>(
    bytes: &[u8],
    read: impl Fn(&[u8]) -> Result<T, DecodeError>,
) -> Result<(T, super::gif_blocks::Readable<'_>, bool), DecodeError> {
    use super::gif_blocks::{readable, Unterminated};
    let first = readable(bytes, Unterminated::Kept);
    match read(&first.bytes) {
        Ok(t) => Ok((t, first, false)),
        // A decode that was told to stop is not tried again.
        Err(e) if first.unsure && e.0 != super::anim::HALTED => {
            let dropped = readable(bytes, Unterminated::Dropped);
            match dropped.frames {
                0 => Err(e),
                _ => Ok((read(&dropped.bytes)?, dropped, true)),
            }
        }
        Err(e) => Err(e),
    }
}

/// [`scan`] of a file made readable.
fn scan_readable(bytes: &[u8], max_pixels: u64) -> Result<AnimationInfo, DecodeError> {
    let mut d = options(max_pixels, true)
        .read_info(with_trailer(bytes))
        .map_err(|e| DecodeError(format!("not a valid GIF file: {e}")))?;
    let size = (d.width() as u32, d.height() as u32);
    check_pixels(size, max_pixels, "image")?;
    let mut frames = 0u32;
    // Each frame's data is passed over, not copied (`read_next_frame`
    // with decoding skipped copies it, reserving a quarter of the frame's
    // pixels first: 2.25 MB for a 3000x3000 frame of an 84 KB file).
    while let Some(f) = d.next_frame_info().map_err(bad)? {
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

/// Decodes the frames before `wanted.end` (all of them with `usize::MAX`),
/// those before `wanted.start` without their pixels (0x0), asking `halt`
/// before each chunk of rows; the caller has checked the headers
/// ([`scan`]).
pub(crate) fn decode(
    bytes: &[u8],
    max_pixels: u64,
    wanted: std::ops::Range<usize>,
    halt: super::anim::Halt<'_>,
) -> Result<Animation, DecodeError> {
    let stop = wanted.end;
    let (mut decoded, read, again) = read_cut(bytes, |b| {
        decode_readable(b, max_pixels, wanted.clone(), halt)
    })?;
    // Whether frames were lost, and how many whole ones there are when
    // that is known. Read to its end, the decode knows the whole frames:
    // a last frame lacking only its terminator, whole, lost nothing.
    let to_end = decoded.frames.len() < stop;
    let (lost, whole) = match again {
        true => (true, Some(read.frames)),
        false => {
            let whole = to_end.then_some(decoded.frames.len());
            let lost = read.cut || (read.unsure && whole != Some(read.frames));
            (lost, whole.or((!read.unsure).then_some(read.frames)))
        }
    };
    // Frames past those asked for lost nothing this decode shows.
    if lost && whole.is_none_or(|n| n < stop) {
        let note = match whole {
            Some(1) => "GIF file cut short: only its first frame is whole, and it is shown, as a browser would".to_string(),
            Some(n) => format!("GIF file cut short: its first {n} frames are whole, and they are shown, as a browser would"),
            // A still reads its first frame only: the last may be cut.
            None => "GIF file cut short: the frames before the cut are shown, as a browser would".to_string(),
        };
        decoded.notes.cut = Some(note.into());
    }
    Ok(decoded)
}

/// [`decode`] of a file made readable.
fn decode_readable(
    bytes: &[u8],
    max_pixels: u64,
    wanted: std::ops::Range<usize>,
    halt: super::anim::Halt<'_>,
) -> Result<Animation, DecodeError> {
    let stop = wanted.end;
    // Every frame before those wanted shares one empty image.
    let unwanted = Arc::new(RgbaImage::new(0, 0));
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
    // A frame's indices are read a chunk of rows at a time and drawn
    // clipped to the screen: a frame larger than the screen (up to
    // `max_pixels`) is never held whole, so a decode holds what
    // `decode_cost` counts. (Chunks, not rows: `weezl` 0.1 stalls on small
    // output buffers, and `gif` then reads a valid frame as truncated:
    // image-rs/image-gif#232. A frame within a chunk is read in one go.)
    let mut chunk = Vec::new();
    while frames.len() < stop {
        let Some(f) = d.next_frame_info().map_err(bad)? else {
            break;
        };
        let rect = Rect {
            left: f.left as u32,
            top: f.top as u32,
            width: f.width as u32,
            height: f.height as u32,
        };
        let (interlaced, transparent, dispose) = (f.interlaced, f.transparent, f.dispose);
        let delay = Delay::from_centis(f.delay as u32);
        let local = f.palette.clone();
        let palette = local.as_deref().or(global.as_deref()).unwrap_or(&[]);
        let before = (dispose == gif::DisposalMethod::Previous).then(|| canvas.clone());
        let row_len = rect.width as usize;
        let per_chunk = (CHUNK_BYTES / row_len.max(1)).max(1);
        let mut rows = frame_rows(rect.height, interlaced).peekable();
        while rows.peek().is_some() {
            if halt() {
                return Err(DecodeError(super::anim::HALTED.into()));
            }
            let ys: Vec<u32> = rows.by_ref().take(per_chunk).collect();
            chunk.resize(ys.len() * row_len, 0);
            if !d.fill_buffer(&mut chunk).map_err(bad)? {
                return Err(DecodeError(
                    "truncated or corrupt GIF file: image truncated".into(),
                ));
            }
            for (&y, line) in ys.iter().zip(chunk.chunks_exact(row_len.max(1))) {
                draw_row(&mut canvas, &rect, y, line, palette, transparent);
            }
        }
        let image = match frames.len() < wanted.start {
            true => Arc::clone(&unwanted),
            false => Arc::new(canvas.clone()),
        };
        frames.push(Frame { image, delay });
        match dispose {
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
        notes: super::Notes::default(),
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

/// The most bytes of a frame's indices decoded at once (whole rows; one
/// row if it is longer): within `decode_cost`'s fixed slack.
const CHUNK_BYTES: usize = 256 << 10;

/// The frame's rows in the order its data holds them: top to bottom, or
/// GIF's four interlaced passes (every 8th row from 0, every 8th from 4,
/// every 4th from 2, every 2nd from 1).
fn frame_rows(height: u32, interlaced: bool) -> Box<dyn Iterator<Item = u32>> {
    if interlaced {
        Box::new(
            [(0, 8), (4, 8), (2, 4), (1, 2)]
                .into_iter()
                .flat_map(move |(first, step)| (first..height).step_by(step)),
        )
    } else {
        Box::new(0..height)
    }
}

/// Draws row `y` of the frame (its indexed pixels, `indices`) into
/// `canvas`: the transparent index leaves the canvas as it is; an index
/// past the palette is opaque black (as browsers draw it).
fn draw_row(
    canvas: &mut RgbaImage,
    rect: &Rect,
    y: u32,
    indices: &[u8],
    palette: &[u8],
    transparent: Option<u8>,
) {
    let (xs, ys) = rect.clipped(canvas.width(), canvas.height());
    let y = rect.top as u64 + y as u64;
    if !ys.contains(&(y.min(u32::MAX as u64) as u32)) {
        return;
    }
    for x in xs {
        let Some(&i) = indices.get((x - rect.left) as usize) else {
            continue;
        };
        if Some(i) == transparent {
            continue;
        }
        let c = palette
            .get(i as usize * 3..i as usize * 3 + 3)
            .unwrap_or(&[0, 0, 0]);
        canvas.put_pixel(x, y as u32, image::Rgba([c[0], c[1], c[2], 255]));
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
/// with their delays (in hundredths, the running time rounded:
/// [`super::anim::running_units`]) and loop count.
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
        let centis = super::anim::running_units(delays, 100);
        for (img, &delay) in frames.iter().zip(&centis) {
            let indices = palette.index(img, before.as_ref().map(|(b, i)| (*b, i.as_slice())));
            let delay = delay.min(65535) as u16;
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
            let back = decode(&bytes, 100, 0..usize::MAX, &|| false).unwrap();
            assert_eq!(back.loop_count, lc);
            assert_eq!(back.frames[0].delay, Delay::from_centis(5));
            assert_eq!(*back.frames[0].image, img);
        }
    }

    #[test]
    fn an_interlaced_frame_larger_than_the_screen_is_drawn_row_by_row_clipped() {
        // A 9x13 interlaced frame at (1, 1) on a 6x5 screen: its rows are
        // stored in GIF's pass order, written out here by hand.
        let order = [0, 8, 4, 12, 2, 6, 10, 1, 3, 5, 7, 9, 11];
        let index = |x: u32, y: u32| ((x + 3 * y) % 4) as u8;
        let buffer: Vec<u8> = order
            .iter()
            .flat_map(|&y| (0..9).map(move |x| index(x, y)))
            .collect();
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let mut bytes = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut bytes, 6, 5, &palette).unwrap();
            let frame = gif::Frame {
                left: 1,
                top: 1,
                width: 9,
                height: 13,
                interlaced: true,
                transparent: Some(3),
                buffer: buffer.into(),
                ..gif::Frame::default()
            };
            enc.write_frame(&frame).unwrap();
        }
        let got = decode(&bytes, 1000, 0..usize::MAX, &|| false).unwrap();
        let want = RgbaImage::from_fn(6, 5, |x, y| {
            if x == 0 || y == 0 {
                return image::Rgba([0, 0, 0, 0]);
            }
            match index(x - 1, y - 1) {
                3 => image::Rgba([0, 0, 0, 0]),
                i => {
                    let c = &palette[i as usize * 3..][..3];
                    image::Rgba([c[0], c[1], c[2], 255])
                }
            }
        });
        assert_eq!(*got.frames[0].image, want);
        // Cut inside the frame's data: refused, not drawn in part.
        let cut = &bytes[..bytes.len() - 12];
        let e = decode(cut, 1000, 0..usize::MAX, &|| false).unwrap_err();
        assert!(e.0.contains("truncated or corrupt GIF"), "{}", e.0);
    }

    #[test]
    fn frames_of_many_chunks_decode_exactly_interlaced_or_not() {
        // Frames of several chunks (`CHUNK_BYTES`), with palettes of 1 to 8
        // bits (LZW code sizes 2 to 8) and data of runs and noise.
        let cases = [
            (1000u16, 700u16, 2usize, false),
            (1000, 700, 4, true),
            (333, 2000, 16, false),
            (4000, 300, 256, true),
            (70, 9000, 3, true),
        ];
        for (w, h, colours, interlaced) in cases {
            let (wu, hu) = (w as usize, h as usize);
            let mut seed = 12345u32;
            let indices: Vec<u8> = (0..wu * hu)
                .map(|i| {
                    seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                    let pick = if (i / 37) % 3 == 0 {
                        i / 500
                    } else {
                        (seed >> 24) as usize
                    };
                    (pick % colours) as u8
                })
                .collect();
            // Stored in pass order when interlaced (written out here, not
            // with `frame_rows`).
            let order: Vec<usize> = if interlaced {
                [(0, 8), (4, 8), (2, 4), (1, 2)]
                    .iter()
                    .flat_map(|&(first, step)| (first..hu).step_by(step))
                    .collect()
            } else {
                (0..hu).collect()
            };
            let stored: Vec<u8> = order
                .iter()
                .flat_map(|&y| indices[y * wu..][..wu].iter().copied())
                .collect();
            let palette: Vec<u8> = (0..colours.next_power_of_two().max(2) * 3)
                .map(|i| (i * 37 % 256) as u8)
                .collect();
            let mut bytes = Vec::new();
            {
                let mut enc = gif::Encoder::new(&mut bytes, w, h, &palette).unwrap();
                let frame = gif::Frame {
                    width: w,
                    height: h,
                    interlaced,
                    buffer: stored.into(),
                    ..gif::Frame::default()
                };
                enc.write_frame(&frame).unwrap();
            }
            let got = decode(&bytes, u64::MAX, 0..usize::MAX, &|| false)
                .unwrap_or_else(|e| panic!("{w}x{h}, {colours} colours: {}", e.0));
            let image = &got.frames[0].image;
            for (i, &index) in indices.iter().enumerate() {
                let p = image.get_pixel((i % wu) as u32, (i / wu) as u32);
                let c = &palette[index as usize * 3..][..3];
                assert_eq!(&p.0[..3], c, "{w}x{h}, {colours} colours, pixel {i}");
            }
        }
    }
}
