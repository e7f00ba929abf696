//! What a JPEG's headers say, read once for the modules that need it, by
//! one walk of the marker segments before the first scan (`segments`):
//! the frame header ([`frame`]), a coding no decoder here reads, a broken
//! ICC profile, the EXIF orientation every JPEG path applies
//! ([`orientation`]), and `jpeg-decoder` opened with the facts every caller
//! checks or applies (size within the pixel limit, pixel format, EXIF
//! orientation, ICC profile: [`open`]).
//!
//! Used by the CMYK path ([`super::cmyk`]), the layouts `zune-jpeg` gets
//! wrong ([`super::jpeg_layout`]) and the scaled decode in
//! [`crate::shrink`].

use super::halting_input::HaltingReader;
use image::metadata::Orientation;

/// A JPEG's frame header (`SOFn`) segment.
pub(crate) struct Frame<'a> {
    /// Which frame: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, ...
    pub marker: u8,
    /// The file from the segment's `FF` on (the segment and all after it).
    from: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The number of components the frame declares.
    pub fn components(&self) -> Option<u8> {
        // FF Cn, length (2), precision, height (2), width (2), count.
        self.from.get(9).copied()
    }

    /// Bits per sample (8, or 12 in extended frames).
    pub fn precision(&self) -> Option<u8> {
        // FF Cn, length (2), precision.
        self.from.get(4).copied()
    }

    /// `(h, v)` sampling factors per component, in frame order; `None`
    /// when the header is cut short.
    pub fn factors(&self) -> Option<Vec<(u8, u8)>> {
        let n = usize::from(self.components()?);
        let table = self.from.get(10..10 + 3 * n)?;
        // Per component: id, h << 4 | v, quantization table.
        Some(
            table
                .chunks_exact(3)
                .map(|c| (c[1] >> 4, c[1] & 15))
                .collect(),
        )
    }

    /// The file after the frame header segment.
    pub fn after(&self) -> Option<&'a [u8]> {
        let len = usize::from(u16::from_be_bytes([*self.from.get(2)?, *self.from.get(3)?]));
        self.from.get(2 + len..)
    }
}

/// A marker segment of a JPEG file: its marker, where its `FF` is, and
/// its body (after the two length bytes, cut at the file's end).
#[derive(Clone, Copy)]
struct Segment<'a> {
    marker: u8,
    at: usize,
    body: &'a [u8],
}

/// The marker segments of the JPEG `bytes` before its first scan (`SOS`)
/// or its end (`EOI`), from just after `SOI`: every walk of the headers
/// here is this one. Fill bytes before a marker are skipped; the markers
/// that have no length (`TEM`, `RSTn`) are segments with an empty body. The
/// walk ends where the bytes do not hold a marker.
fn segments(bytes: &[u8]) -> impl Iterator<Item = Segment<'_>> {
    let mut at = 2;
    std::iter::from_fn(move || loop {
        let &[0xFF, marker] = bytes.get(at..at + 2)? else {
            return None;
        };
        match marker {
            // A fill byte before the marker.
            0xFF => at += 1,
            0xDA | 0xD9 => return None,
            0x01 | 0xD0..=0xD7 => {
                let segment = Segment {
                    marker,
                    at,
                    body: &[],
                };
                at += 2;
                return Some(segment);
            }
            _ => {
                let &[hi, lo] = bytes.get(at + 2..at + 4)? else {
                    return None;
                };
                let len = usize::from(u16::from_be_bytes([hi, lo]));
                let end = (at + 2 + len).min(bytes.len());
                let body = bytes.get(at + 4..end).unwrap_or(&[]);
                let segment = Segment { marker, at, body };
                at += 2 + len;
                return Some(segment);
            }
        }
    })
}

/// Whether `marker` is a frame header: SOF0..SOF15 but DHT (C4), JPG (C8)
/// and DAC (CC).
fn is_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// The frame header of the JPEG `bytes`, found by walking the marker
/// segments before it; `None` when the walk fails (not a JPEG, cut short,
/// image data before any frame header).
pub(crate) fn frame(bytes: &[u8]) -> Option<Frame<'_>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let s = segments(bytes).find(|s| is_frame(s.marker))?;
    // Its length and first bytes are there (the callers read them).
    bytes.get(s.at..s.at + 4)?;
    Some(Frame {
        marker: s.marker,
        from: &bytes[s.at..],
    })
}

/// The coding of a JPEG whose frame header (found before its first scan)
/// no decoder here reads, in words: `None` for baseline, extended and
/// progressive Huffman coding (SOF0, 1, 2) or when no frame header is found.
pub(crate) fn unsupported_coding(bytes: &[u8]) -> Option<&'static str> {
    match segments(bytes).find(|s| is_frame(s.marker))?.marker {
        0xC3 => Some("lossless (SOF3)"),
        0xC5..=0xC7 => Some("hierarchical (SOF5-7)"),
        0xC9 | 0xCA => Some("arithmetic-coded (SOF9-10)"),
        0xCB => Some("lossless arithmetic-coded (SOF11)"),
        0xCD..=0xCF => Some("hierarchical arithmetic-coded (SOF13-15)"),
        _ => None,
    }
}

/// The EXIF orientation of the JPEG `bytes`, from the first `APP1` segment
/// that holds EXIF, as browsers and Pillow read it (the decoders here take
/// the last such segment, and read the tag only when it is stored as a
/// SHORT: a LONG one, which some writers store, counts too here).
/// `NoTransforms` when there is none or it is not 1 to 8.
pub(crate) fn orientation(bytes: &[u8]) -> Orientation {
    segments(bytes)
        .find_map(|s| {
            (s.marker == 0xE1)
                .then(|| s.body.strip_prefix(b"Exif\0\0"))
                .flatten()
        })
        .and_then(exif_orientation)
        .unwrap_or(Orientation::NoTransforms)
}

/// The orientation tag (0x0112) of the first image file directory of the
/// EXIF (TIFF) block `tiff`, stored as a SHORT or a LONG.
fn exif_orientation(tiff: &[u8]) -> Option<Orientation> {
    let big = match tiff.get(..4)? {
        [0x49, 0x49, 42, 0] => false,
        [0x4D, 0x4D, 0, 42] => true,
        _ => return None,
    };
    let u16_at = |i: usize| {
        let b: [u8; 2] = tiff.get(i..i + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |i: usize| {
        let b: [u8; 4] = tiff.get(i..i + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|n| {
        let entry = ifd.checked_add(2 + 12 * n)?;
        if u16_at(entry)? != 0x0112 || u32_at(entry + 4)? != 1 {
            return None;
        }
        let value = match u16_at(entry + 2)? {
            3 => u32::from(u16_at(entry + 8)?),
            4 => u32_at(entry + 8)?,
            _ => return None,
        };
        Orientation::from_exif(u8::try_from(value).ok()?)
    })
}

/// Why the ICC profile a JPEG splits across `APP2` segments cannot be put
/// together (a segment missing, or their counts disagreeing, or all of them
/// empty), in words for
/// the `colour_profile_ignored` warning; `None` when it has no such
/// segments or they are whole. Every decoder then gives no profile, and
/// the pixels are taken as sRGB.
pub(crate) fn broken_icc(bytes: &[u8]) -> Option<String> {
    // (sequence number, count) of each ICC segment, in file order, and
    // the profile bytes they hold together.
    let mut icc: Vec<(u8, u8)> = Vec::new();
    let mut held = 0usize;
    for s in segments(bytes).filter(|s| s.marker == 0xE2) {
        if let Some(&[seq, count, ref data @ ..]) = s.body.strip_prefix(b"ICC_PROFILE\0") {
            icc.push((seq, count));
            held += data.len();
        }
    }
    let segments = icc;
    let &(_, count) = segments.first()?;
    let whole = segments.iter().all(|&(_, c)| c == count)
        && usize::from(count) == segments.len()
        && (1..=count).all(|n| segments.iter().any(|&(s, _)| s == n));
    if whole && held == 0 {
        return Some("its ICC profile segments hold no bytes".into());
    }
    if whole {
        return None;
    }
    let mut present: Vec<u8> = segments.iter().map(|&(s, _)| s).collect();
    present.sort_unstable();
    let list = present
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "its ICC profile is incomplete or inconsistent: the file has segments {list} of the {count} it declares"
    ))
}

/// `jpeg-decoder` with the headers of a file read, and what they say.
pub(crate) struct Opened<'a> {
    /// Ready to decode (or to be set to a reduced scale first).
    /// Its input asks the render's stop as it is read ([`HaltingReader`]).
    pub decoder: jpeg_decoder::Decoder<HaltingReader<'a>>,
    /// The stored raster's size, before orientation.
    pub size: (u32, u32),
    pub format: jpeg_decoder::PixelFormat,
    pub orientation: Orientation,
    /// The embedded ICC profile, if any.
    pub profile: Option<Vec<u8>>,
}

impl Opened<'_> {
    /// Whether the pixels are grey (`L8`) or RGB; `None` for the other
    /// formats (CMYK, 16-bit).
    pub fn grey(&self) -> Option<bool> {
        match self.format {
            jpeg_decoder::PixelFormat::L8 => Some(true),
            jpeg_decoder::PixelFormat::RGB24 => Some(false),
            _ => None,
        }
    }
}

/// Most marker segments walked before the frame header (a file of empty
/// segments is no photo): past it the header is not looked for.
const MAX_SEGMENTS: u32 = 1 << 20;

/// A JPEG file's headers up to its frame header, read from `file` (at its
/// start) segment by segment without reading what they hold but the few
/// [`open`] uses: the start of image, the first EXIF segment (for the
/// orientation), Adobe's `APP14` and the frame header; the other segments
/// (comments, XMP, Photoshop's, thumbnails, ICC profiles: megabytes in
/// some photos) are skipped by their lengths. `None` when the walk finds
/// no frame header before the image data, the end, or [`MAX_SEGMENTS`].
/// (The probe read the whole file, 250 MB for a 16x16 image behind 250 MB
/// of segments, or its first MiB, which missed a frame header behind a
/// few MB of XMP.)
pub(crate) fn header_of_file(
    file: &mut (impl std::io::Read + std::io::Seek),
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut r = std::io::BufReader::new(file);
    let mut soi = [0u8; 2];
    r.read_exact(&mut soi)?;
    if soi != [0xFF, 0xD8] {
        return Ok(None);
    }
    let mut out = soi.to_vec();
    let mut exif = false;
    let mut byte = [0u8; 1];
    for _ in 0..MAX_SEGMENTS {
        // A marker: FF, any fill FFs, then its code.
        r.read_exact(&mut byte)?;
        if byte[0] != 0xFF {
            return Ok(None);
        }
        let mut marker = 0xFF;
        while marker == 0xFF {
            r.read_exact(&mut byte)?;
            marker = byte[0];
        }
        // Markers without a length.
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue;
        }
        if matches!(marker, 0xD9 | 0xDA) {
            return Ok(None);
        }
        let mut len = [0u8; 2];
        r.read_exact(&mut len)?;
        let body = usize::from(u16::from_be_bytes(len)).saturating_sub(2);
        let frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        let keep = frame || marker == 0xEE || (marker == 0xE1 && !exif);
        if keep {
            let mut data = vec![0u8; body];
            r.read_exact(&mut data)?;
            if marker == 0xE1 {
                if !data.starts_with(b"Exif\0\0") {
                    continue;
                }
                exif = true;
            }
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(&len);
            out.extend_from_slice(&data);
            if frame {
                return Ok(Some(out));
            }
        } else {
            r.seek_relative(body as i64)?;
        }
    }
    Ok(None)
}

/// The JPEG `bytes` opened by `jpeg-decoder`, headers read; `None` when
/// they do not parse, or the image is empty or over `max_pixels`: each
/// caller then leaves the file to the full-size path, which refuses it
/// with the precise message.
pub(crate) fn open(bytes: &[u8], max_pixels: u64) -> Option<Opened<'_>> {
    let mut decoder = jpeg_decoder::Decoder::new(HaltingReader::new(bytes));
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    let size = (u32::from(info.width), u32::from(info.height));
    let pixels = u64::from(size.0) * u64::from(size.1);
    if pixels > max_pixels || pixels == 0 {
        return None;
    }
    let orientation = orientation(bytes);
    let profile = decoder.icc_profile();
    Some(Opened {
        decoder,
        size,
        format: info.pixel_format,
        orientation,
        profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, then `APP2` ICC segments `(seq, count)`, then SOS.
    fn with_icc(segments: &[(u8, u8)]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        for &(seq, count) in segments {
            let body = [b"ICC_PROFILE\0".as_slice(), &[seq, count], b"data"].concat();
            b.extend_from_slice(&[0xFF, 0xE2]);
            b.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
            b.extend_from_slice(&body);
        }
        b.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn the_header_walk_keeps_exif_and_the_frame_and_skips_the_rest() {
        let jpeg = rgb_jpeg(12, 7);
        let com = [&[0xFF, 0xFE, 0x00, 0x06][..], b"note"].concat();
        let exif = [&[0xFF, 0xE1, 0x00, 0x0A][..], b"Exif\0\0MM"].concat();
        let file = [&jpeg[..2], &com, &exif, &com, &jpeg[2..]].concat();
        let header = header_of_file(&mut std::io::Cursor::new(&file))
            .unwrap()
            .unwrap();
        assert!(header.windows(6).any(|w| w == b"Exif\0\0"));
        assert!(!header.windows(4).any(|w| w == b"note"));
        let opened = open(&header, u64::MAX).unwrap();
        assert_eq!(opened.size, (12, 7));
        // Image data before any frame header: none.
        let no_frame = [&jpeg[..2], &com, &[0xFF, 0xDA, 0, 2][..]].concat();
        assert_eq!(
            header_of_file(&mut std::io::Cursor::new(&no_frame)).unwrap(),
            None
        );
    }

    #[test]
    fn the_orientation_tag_reads_in_either_byte_order_and_bad_blocks_give_none() {
        // Big-endian, a SHORT 3 among other tags.
        let mut mm = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
        mm.extend_from_slice(&[0x01, 0x0F, 0, 2, 0, 0, 0, 4, b'a', b'b', b'c', 0]);
        mm.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0]);
        assert_eq!(exif_orientation(&mm), Some(Orientation::Rotate180));
        // Cut inside the entry, a directory past the end, a count of 2, a
        // value out of 1..=8, another type: none, and no panic.
        assert_eq!(exif_orientation(&mm[..mm.len() - 3]), None);
        let mut far = mm.clone();
        far[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(exif_orientation(&far), None);
        let mut two = mm.clone();
        two[29] = 2;
        assert_eq!(exif_orientation(&two), None);
        let mut nine = mm.clone();
        nine[31] = 9;
        assert_eq!(exif_orientation(&nine), None);
        let mut ascii = mm.clone();
        ascii[25] = 2;
        assert_eq!(exif_orientation(&ascii), None);
        assert_eq!(exif_orientation(b"XX\0\x2a"), None);
        // A directory claiming 65,535 entries in a short block: the
        // entries there are read, the rest are not there.
        let mut many = mm.clone();
        many[8..10].copy_from_slice(&[0xFF, 0xFF]);
        assert_eq!(exif_orientation(&many), Some(Orientation::Rotate180));
        many.truncate(22);
        assert_eq!(exif_orientation(&many), None);
    }

    #[test]
    fn an_icc_profile_with_a_segment_missing_is_reported() {
        assert_eq!(broken_icc(&with_icc(&[])), None);
        assert_eq!(broken_icc(&with_icc(&[(1, 1)])), None);
        assert_eq!(broken_icc(&with_icc(&[(2, 2), (1, 2)])), None);
        let e = broken_icc(&with_icc(&[(1, 3), (3, 3)])).unwrap();
        assert!(e.contains("segments 1, 3 of the 3"), "{e}");
        assert!(broken_icc(&with_icc(&[(1, 2), (2, 3)])).is_some());
        assert!(broken_icc(&with_icc(&[(1, 1), (1, 1)])).is_some());
        // Whole but empty: a profile meant and none given.
        let mut empty = with_icc(&[(1, 1)]);
        let at = empty.windows(4).position(|w| w == b"data").unwrap();
        empty.drain(at..at + 4);
        empty[5] -= 4; // the segment's length
        let e = broken_icc(&empty).unwrap();
        assert!(e.contains("hold no bytes"), "{e}");
    }

    fn rgb_jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
        enc.add_app_segment(1, vec![0xC0; 300]).unwrap();
        enc.encode(
            &vec![9; w as usize * h as usize * 3],
            w,
            h,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
        out
    }

    #[test]
    fn the_walk_finds_the_frame_header_past_other_segments() {
        // The APP1 segment is full of bytes that look like SOF0 markers.
        let rgb = rgb_jpeg(8, 8);
        let f = frame(&rgb).expect("a frame header");
        assert_eq!((f.marker, f.components()), (0xC0, Some(3)));
        assert_eq!(f.factors().map(|v| v.len()), Some(3));
        assert!(f.after().is_some_and(|rest| rest.len() < rgb.len()));
        for cut in 0..rgb.len().min(400) {
            // Never past the end, whatever the cut.
            if let Some(f) = frame(&rgb[..cut]) {
                let _ = (f.components(), f.factors(), f.after());
            }
        }
        assert!(frame(b"\xFF\xD8\xFF\xDA").is_none());
        assert!(frame(b"not a jpeg").is_none());
    }

    #[test]
    fn opening_reads_the_size_and_refuses_what_is_over_the_limit() {
        let rgb = rgb_jpeg(24, 16);
        let o = open(&rgb, 24 * 16).expect("within the limit");
        assert_eq!((o.size, o.grey()), ((24, 16), Some(false)));
        assert_eq!(o.orientation, Orientation::NoTransforms);
        assert!(open(&rgb, 24 * 16 - 1).is_none());
        assert!(open(b"not a jpeg", 1 << 20).is_none());
    }
}
