//! APNG frames composited as the APNG specification (and browsers) show
//! them, from the `png` crate's raw sub-frames. (The `image` crate's
//! `ApngDecoder` saved the canvas for `dispose_op` "previous" before the
//! preceding frame's background disposal, so a region cleared by one
//! frame came back after the next; and it blended with truncation.)

use std::io::Cursor;

use image::RgbaImage;
use png::{BlendOp, ColorType, DisposeOp, Transformations};

use super::DecodeError;

/// One composited frame: the whole canvas and its delay in seconds as
/// `(numerator, denominator)`.
pub(super) type ApngFrame = (RgbaImage, (u64, u64));

/// Whether the PNG `bytes` is an APNG whose default image (its `IDAT`) is
/// not part of the animation: an `acTL` chunk, and no `fcTL` before the
/// first `IDAT`. Such a default image is a picture for viewers without
/// APNG, which browsers never show; a still render draws the animation's
/// first frame instead, as `frame: 0` and an animated render do.
pub(super) fn default_image_hidden(bytes: &[u8]) -> bool {
    let mut at = 8;
    let mut animated = false;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"acTL" => animated = true,
            b"fcTL" | b"IEND" => return false,
            b"IDAT" => return animated,
            _ => {}
        }
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

/// The frames of the APNG in `bytes` before `wanted.end` (the default
/// image only when it is not part of the animation is skipped), each the
/// whole canvas in straight 8-bit RGBA (16-bit samples keep their high
/// byte), those before `wanted.start` empty (0x0), with the number of
/// plays (0: forever). `max_alloc` bounds the decoder's buffers.
pub(super) fn frames(
    bytes: &[u8],
    max_alloc: usize,
    wanted: std::ops::Range<usize>,
    halt: super::anim::Halt<'_>,
) -> Result<(Vec<ApngFrame>, u32), DecodeError> {
    let stop = wanted.end;
    let corrupt = |e: png::DecodingError| {
        DecodeError(format!(
            "truncated or corrupt PNG file: {}",
            super::readable(e).trim_end()
        ))
    };
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: max_alloc });
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    let (count, plays) = match info.animation_control() {
        Some(actl) => (actl.num_frames, actl.num_plays),
        None => (1, 1),
    };
    // An IDAT without its own fcTL is a default image outside the animation.
    let skip_default = info.animation_control().is_some() && info.frame_control().is_none();
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DecodeError("PNG frame too large".into()))?;
    let mut buf = vec![0u8; size];
    if skip_default {
        reader.next_frame(&mut buf).map_err(|e| {
            DecodeError(format!(
                "truncated or corrupt PNG file: its default image (not part of the animation): {}",
                super::readable(e).trim_end()
            ))
        })?;
    }
    let mut canvas = RgbaImage::new(width, height);
    let mut out = Vec::new();
    for k in 0..(count as usize).min(stop) {
        if halt() {
            return Err(DecodeError(super::anim::HALTED.into()));
        }
        // A frame that fails is named: its acTL may promise more frames
        // than the file holds.
        let output = reader.next_frame(&mut buf).map_err(|e| {
            DecodeError(format!(
                "truncated or corrupt PNG file: frame {k} of the {count} its acTL chunk declares: {}",
                super::readable(e).trim_end()
            ))
        })?;
        let fc = reader
            .info()
            .frame_control()
            .copied()
            .unwrap_or(png::FrameControl {
                width,
                height,
                ..Default::default()
            });
        let (x0, y0, w, h) = (fc.x_offset, fc.y_offset, output.width, output.height);
        if x0.checked_add(w).is_none_or(|r| r > width)
            || y0.checked_add(h).is_none_or(|b| b > height)
        {
            return Err(DecodeError(format!(
                "frame {k}: its region {w}x{h} at ({x0}, {y0}) leaves the {width}x{height} canvas"
            )));
        }
        let pixels = to_rgba(&buf[..output.buffer_size()], output.color_type)?;
        // "Previous" on the first frame is "background" (the spec).
        let dispose = match fc.dispose_op {
            DisposeOp::Previous if k == 0 => DisposeOp::Background,
            d => d,
        };
        let before = (dispose == DisposeOp::Previous).then(|| region(&canvas, x0, y0, w, h));
        for (i, px) in pixels.chunks_exact(4).enumerate() {
            let (x, y) = (x0 + i as u32 % w, y0 + i as u32 / w);
            let dst = canvas.get_pixel_mut(x, y);
            let src = [px[0], px[1], px[2], px[3]];
            dst.0 = match fc.blend_op {
                BlendOp::Source => src,
                BlendOp::Over => over(src, dst.0),
            };
        }
        let delay = match fc.delay_den {
            0 => (u64::from(fc.delay_num), 100),
            d => (u64::from(fc.delay_num), u64::from(d)),
        };
        let shown = match k < wanted.start {
            true => RgbaImage::new(0, 0),
            false => canvas.clone(),
        };
        out.push((shown, delay));
        match (dispose, before) {
            (DisposeOp::Background, _) => {
                for y in y0..y0 + h {
                    for x in x0..x0 + w {
                        canvas.put_pixel(x, y, image::Rgba([0, 0, 0, 0]));
                    }
                }
            }
            (DisposeOp::Previous, Some(saved)) => {
                for (i, px) in saved.into_iter().enumerate() {
                    canvas.put_pixel(x0 + i as u32 % w, y0 + i as u32 / w, px);
                }
            }
            _ => {}
        }
    }
    Ok((out, plays))
}

/// The pixels of `w` x `h` at `(x0, y0)`, row by row.
fn region(canvas: &RgbaImage, x0: u32, y0: u32, w: u32, h: u32) -> Vec<image::Rgba<u8>> {
    (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .map(|(x, y)| *canvas.get_pixel(x, y))
        .collect()
}

/// A decoded sub-frame (8-bit after `EXPAND | STRIP_16`) as RGBA.
fn to_rgba(data: &[u8], colour: ColorType) -> Result<Vec<u8>, DecodeError> {
    Ok(match colour {
        ColorType::Rgba => data.to_vec(),
        ColorType::Rgb => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        ColorType::GrayscaleAlpha => data
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        ColorType::Grayscale => data.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        ColorType::Indexed => {
            return Err(DecodeError("PNG palette was not expanded".into()));
        }
    })
}

/// `src` over `dst`, straight alpha, as the APNG specification's
/// `APNG_BLEND_OP_OVER` defines it, rounded to nearest: an opaque source
/// is copied and a transparent one leaves `dst`.
fn over(src: [u8; 4], dst: [u8; 4]) -> [u8; 4] {
    match src[3] {
        255 => return src,
        0 => return dst,
        _ => {}
    }
    let sa = f64::from(src[3]) / 255.0;
    let da = f64::from(dst[3]) / 255.0 * (1.0 - sa);
    let a = sa + da;
    let mut out = [0u8; 4];
    for c in 0..3 {
        let v = (f64::from(src[c]) * sa + f64::from(dst[c]) * da) / a;
        out[c] = v.round().clamp(0.0, 255.0) as u8;
    }
    out[3] = (a * 255.0).round() as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20x10 APNG: frame 0 red over the canvas, disposed to the
    /// background; frame 1 green over (0, 0, 10, 10), disposed to the
    /// previous state; frame 2 a blue column at x 15..20, half transparent,
    /// blended over.
    fn three_frames() -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 20, 10);
        enc.set_color(ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_animated(3, 2).unwrap();
        let mut w = enc.write_header().unwrap();
        let fill = |n: usize, px: [u8; 4]| px.repeat(n);
        w.set_dispose_op(DisposeOp::Background).unwrap();
        w.write_image_data(&fill(200, [255, 0, 0, 255])).unwrap();
        w.set_frame_dimension(10, 10).unwrap();
        w.set_dispose_op(DisposeOp::Previous).unwrap();
        w.write_image_data(&fill(100, [0, 255, 0, 255])).unwrap();
        w.set_frame_dimension(5, 10).unwrap();
        w.set_frame_position(15, 0).unwrap();
        w.set_dispose_op(DisposeOp::None).unwrap();
        w.set_blend_op(BlendOp::Over).unwrap();
        w.write_image_data(&fill(50, [0, 0, 255, 128])).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn a_frame_missing_or_out_of_sequence_is_named_plainly() {
        let good = three_frames();
        let never = &|| false;
        // acTL promising a fourth frame the file does not hold.
        let at = good.windows(4).position(|w| w == b"acTL").unwrap();
        let mut more = good.clone();
        crate::codec::set_png_chunk_byte(&mut more, at, 3, 4);
        let e = frames(&more, 1 << 20, 0..usize::MAX, never).unwrap_err().0;
        assert_eq!(
            e,
            "truncated or corrupt PNG file: frame 3 of the 4 its acTL chunk declares: IDAT or fdAT chunk is missing."
        );
        // A frame control's sequence number out of order: the chunk named
        // by its type, not the png crate's debug dump, and no trailing space.
        let second = good
            .windows(4)
            .skip(at + 40)
            .position(|w| w == b"fcTL")
            .unwrap()
            + at
            + 40;
        let mut shuffled = good.clone();
        crate::codec::set_png_chunk_byte(&mut shuffled, second, 3, 9);
        let e = frames(&shuffled, 1 << 20, 0..usize::MAX, never)
            .unwrap_err()
            .0;
        assert!(
            e.starts_with("truncated or corrupt PNG file: frame 1 of the 3"),
            "{e}"
        );
        assert!(!e.contains("ChunkType {") && !e.ends_with(' '), "{e}");
    }

    #[test]
    fn dispose_previous_restores_the_canvas_after_the_frame_before_was_disposed() {
        let (frames, plays) = frames(&three_frames(), 64 << 20, 0..usize::MAX, &|| false).unwrap();
        assert_eq!((frames.len(), plays), (3, 2));
        let at = |k: usize, x, y| frames[k].0.get_pixel(x, y).0;
        assert_eq!(at(0, 2, 5), [255, 0, 0, 255]);
        assert_eq!(at(1, 2, 5), [0, 255, 0, 255]);
        assert_eq!(at(1, 12, 5), [0, 0, 0, 0], "frame 0 was cleared");
        // Frame 1's region goes back to the canvas before frame 1: frame 0
        // cleared, not frame 0 drawn (the `image` crate gave red here).
        assert_eq!(at(2, 2, 5), [0, 0, 0, 0]);
        assert_eq!(at(2, 17, 5), [0, 0, 255, 128]);
        // Only the first frames when asked.
        assert_eq!(frames_len(1), 1);
    }

    fn frames_len(stop: usize) -> usize {
        frames(&three_frames(), 64 << 20, 0..stop, &|| false)
            .unwrap()
            .0
            .len()
    }

    #[test]
    fn over_copies_opaque_keeps_under_transparent_and_rounds_between() {
        assert_eq!(over([10, 20, 30, 255], [1, 2, 3, 4]), [10, 20, 30, 255]);
        assert_eq!(over([10, 20, 30, 0], [1, 2, 3, 4]), [1, 2, 3, 4]);
        // Half red over opaque blue: 127.5 -> 128 each (not truncated).
        assert_eq!(over([255, 0, 0, 128], [0, 0, 255, 255]), [128, 0, 127, 255]);
        // Over nothing: the source as it is.
        assert_eq!(over([200, 100, 50, 77], [0, 0, 0, 0]), [200, 100, 50, 77]);
    }
}
