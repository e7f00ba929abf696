//! Animated WebP frames composited exactly as libwebp's `WebPAnimDecoder`
//! (what browsers, Pillow and libvips show): each `ANMF` sub-frame is
//! decoded on its own by `image-webp` and drawn with libwebp's key-frame,
//! disposal and blending rules. (`image-webp`'s own compositor blended
//! opaque pixels too, through an integer formula that lowers every
//! non-zero channel of an opaque pixel by one level, and blended key frames
//! and pixels libwebp leaves alone.)

use std::io::Cursor;

use super::DecodeError;

/// One composited frame: the whole canvas (straight RGBA) and its duration
/// in milliseconds.
pub(super) type WebpFrame = (Vec<u8>, u32);

/// The frames before `wanted.end` of the animated WebP in `bytes`, whose
/// canvas is `width` x `height`, those before `wanted.start` empty (no
/// bytes); `max_alloc` bounds each sub-frame's decoder.
pub(super) fn frames(
    bytes: &[u8],
    (width, height): (u32, u32),
    max_alloc: usize,
    wanted: std::ops::Range<usize>,
    halt: super::anim::Halt<'_>,
) -> Result<Vec<WebpFrame>, DecodeError> {
    let stop = wanted.end;
    let (w, h) = (width as usize, height as usize);
    let mut canvas = vec![0u8; w * h * 4];
    // The canvas after the previous frame's disposal.
    let mut disposed = vec![0u8; w * h * 4];
    let mut prev: Option<(Rect, bool, bool)> = None; // rect, dispose, key
    let mut out = Vec::new();
    for (k, payload) in anmf_payloads(bytes)?.into_iter().take(stop).enumerate() {
        if halt() {
            return Err(DecodeError(super::anim::HALTED.into()));
        }
        let f = FrameHeader::parse(payload)
            .ok_or_else(|| DecodeError(format!("frame {k}: ANMF chunk cut short")))?;
        let r = f.rect;
        if r.x + r.w > w || r.y + r.h > h {
            return Err(DecodeError(format!(
                "frame {k}: its region {}x{} at ({}, {}) leaves the {width}x{height} canvas",
                r.w, r.h, r.x, r.y
            )));
        }
        let (pixels, has_alpha) = decode_still(&payload[16..], (r.w, r.h), max_alloc)
            .map_err(|m| DecodeError(format!("frame {k}: {m}")))?;
        let full = r.x == 0 && r.y == 0 && r.w == w && r.h == h;
        // libwebp's IsKeyFrame.
        let key = match prev {
            None => true,
            Some(_) if (!has_alpha || !f.blend) && full => true,
            Some((p, p_dispose, p_key)) => {
                p_dispose && ((p.x == 0 && p.y == 0 && p.w == w && p.h == h) || p_key)
            }
        };
        if key {
            canvas.fill(0);
        } else {
            canvas.copy_from_slice(&disposed);
        }
        for row in 0..r.h {
            let at = ((r.y + row) * w + r.x) * 4;
            canvas[at..at + r.w * 4].copy_from_slice(&pixels[row * r.w * 4..(row + 1) * r.w * 4]);
        }
        if f.blend && !key {
            // After a frame disposed to the background, the pixels of its
            // rectangle are blended with transparency: left as decoded.
            let cleared = match prev {
                Some((p, true, _)) => Some(p),
                _ => None,
            };
            for y in r.y..r.y + r.h {
                for x in r.x..r.x + r.w {
                    if cleared.is_some_and(|p| p.contains(x, y)) {
                        continue;
                    }
                    let i = (y * w + x) * 4;
                    let src: [u8; 4] = canvas[i..i + 4].try_into().expect("4 bytes");
                    if src[3] != 255 {
                        let dst: [u8; 4] = disposed[i..i + 4].try_into().expect("4 bytes");
                        canvas[i..i + 4].copy_from_slice(&blend_non_premult(src, dst));
                    }
                }
            }
        }
        let shown = match k < wanted.start {
            true => Vec::new(),
            false => canvas.clone(),
        };
        out.push((shown, f.duration));
        disposed.copy_from_slice(&canvas);
        if f.dispose {
            for y in r.y..r.y + r.h {
                let at = (y * w + r.x) * 4;
                disposed[at..at + r.w * 4].fill(0);
            }
        }
        prev = Some((r, f.dispose, key));
    }
    Ok(out)
}

/// A frame's rectangle on the canvas.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

impl Rect {
    fn contains(&self, x: usize, y: usize) -> bool {
        (self.x..self.x + self.w).contains(&x) && (self.y..self.y + self.h).contains(&y)
    }
}

/// An `ANMF` chunk's first 16 bytes.
struct FrameHeader {
    rect: Rect,
    duration: u32,
    /// Blending method "blend" (else "do not blend").
    blend: bool,
    /// Disposal method "dispose to the background".
    dispose: bool,
}

impl FrameHeader {
    fn parse(p: &[u8]) -> Option<FrameHeader> {
        let u24 = |i: usize| -> Option<usize> {
            let b = p.get(i..i + 3)?;
            Some(usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16)
        };
        let flags = *p.get(15)?;
        Some(FrameHeader {
            rect: Rect {
                x: 2 * u24(0)?,
                y: 2 * u24(3)?,
                w: u24(6)? + 1,
                h: u24(9)? + 1,
            },
            duration: u24(12)? as u32,
            blend: flags & 0b10 == 0,
            dispose: flags & 0b01 != 0,
        })
    }
}

/// The payloads of the file's `ANMF` chunks, in order.
fn anmf_payloads(bytes: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    let cut = || DecodeError("truncated or corrupt WEBP file: a chunk runs past the end".into());
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(DecodeError("not a valid WEBP file".into()));
    }
    let mut out = Vec::new();
    for chunk in super::webp::chunks(bytes) {
        if chunk.data.len() < chunk.len {
            return Err(cut());
        }
        if chunk.fourcc == b"ANMF" {
            out.push(chunk.data);
        }
    }
    Ok(out)
}

/// Decodes one frame's chunks (`ALPH` and `VP8 `, or `VP8L`) as a still
/// WebP of `size`: RGBA, and whether the frame has alpha.
fn decode_still(
    chunks: &[u8],
    (w, h): (usize, usize),
    max_alloc: usize,
) -> Result<(Vec<u8>, bool), String> {
    let has_alph = chunks.starts_with(b"ALPH");
    let mut file = Vec::with_capacity(chunks.len() + 30);
    file.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    if has_alph {
        // A still with a separate alpha chunk needs the extended header.
        let mut vp8x = vec![0x10, 0, 0, 0];
        for side in [w - 1, h - 1] {
            vp8x.extend_from_slice(&(side as u32).to_le_bytes()[..3]);
        }
        file.extend_from_slice(b"VP8X");
        file.extend_from_slice(&(vp8x.len() as u32).to_le_bytes());
        file.extend_from_slice(&vp8x);
    }
    file.extend_from_slice(chunks);
    let riff = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&riff.to_le_bytes());
    let mut d = image_webp::WebPDecoder::new(Cursor::new(&file)).map_err(|e| e.to_string())?;
    d.set_memory_limit(max_alloc);
    if d.dimensions() != (w as u32, h as u32) {
        let (dw, dh) = d.dimensions();
        return Err(format!(
            "its image is {dw}x{dh}, its frame header says {w}x{h}"
        ));
    }
    let alpha = d.has_alpha();
    let size = d.output_buffer_size().ok_or("frame too large")?;
    let mut buf = vec![0u8; size];
    d.read_image(&mut buf)
        .map_err(|e| format!("truncated or corrupt WebP file: {e}"))?;
    let rgba = if alpha {
        buf
    } else {
        buf.chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    };
    Ok((rgba, alpha))
}

/// libwebp's `BlendPixelNonPremult` (anim_decode.c), to the bit: `src`
/// over `dst`, straight alpha, in integers. Called only for a source
/// alpha below 255 (libwebp copies opaque pixels).
fn blend_non_premult(src: [u8; 4], dst: [u8; 4]) -> [u8; 4] {
    let src_a = u32::from(src[3]);
    if src_a == 0 {
        return dst;
    }
    let dst_factor_a = (u32::from(dst[3]) * (256 - src_a)) >> 8;
    let blend_a = src_a + dst_factor_a;
    let scale = (1u32 << 24) / blend_a;
    let mut out = [0u8; 4];
    for c in 0..3 {
        let unscaled = u32::from(src[c]) * src_a + u32::from(dst[c]) * dst_factor_a;
        out[c] = ((unscaled * scale) >> 24) as u8;
    }
    out[3] = blend_a as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blending_matches_libwebps_integer_formula() {
        // Over nothing: libwebp's formula loses a level (it is only used
        // off key frames, where libwebp uses it too).
        assert_eq!(
            blend_non_premult([200, 100, 0, 3], [0, 0, 0, 0]),
            [199, 99, 0, 3]
        );
        assert_eq!(
            blend_non_premult([10, 20, 30, 0], [1, 2, 3, 4]),
            [1, 2, 3, 4]
        );
        // Half red over opaque blue, as libwebp computes it.
        assert_eq!(
            blend_non_premult([255, 0, 0, 128], [0, 0, 255, 255]),
            [127, 0, 126, 255]
        );
    }
}
