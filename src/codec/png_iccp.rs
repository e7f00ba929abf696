//! A PNG's `iCCP` chunk is a zlib stream that the `png` decoder inflates
//! while it reads the header, bounded only by the allocation limit (which
//! is sized for pixels): a 1.5 MB, 1x1 PNG whose profile inflated to 1.5 GB
//! took 3.2 GB before any limit saw it. Real profiles stay under a few MiB,
//! so a profile inflating past [`MAX_ICC_BYTES`] is taken as a bomb: the
//! chunk is dropped before the decoder sees the file, the image is decoded
//! as sRGB, and the render says so (the profile is ignored, as a corrupt
//! one is).

/// The largest ICC profile a PNG may carry (inflated).
pub(crate) const MAX_ICC_BYTES: usize = 16 << 20;

use super::png_colour::chunks_before_data;

/// Where the `iCCP` chunk of `png` (any other file: `None`) is, whole
/// (from its length field to its CRC), if it has one before its image data.
fn iccp_chunk(png: &[u8]) -> Option<std::ops::Range<usize>> {
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let (_, data) = chunks_before_data(png).find(|(kind, _)| kind == b"iCCP")?;
    let whole = data.start - 8..data.end.saturating_add(4);
    (whole.end <= png.len()).then_some(whole)
}

/// Whether the profile in `chunk` (a whole `iCCP` chunk) inflates past
/// [`MAX_ICC_BYTES`]: inflated at most that far to know.
pub(super) fn oversized(chunk: &[u8]) -> bool {
    let data = &chunk[8..chunk.len() - 4];
    // The profile's name (1 to 79 bytes), its NUL, the compression method.
    let Some(nul) = data.iter().take(81).position(|&b| b == 0) else {
        return false;
    };
    let Some(stream) = data.get(nul + 2..) else {
        return false;
    };
    matches!(
        fdeflate::decompress_to_vec_bounded(stream, MAX_ICC_BYTES),
        Err(fdeflate::BoundedDecompressionError::OutputTooLarge { .. })
    )
}

/// `png` without its `iCCP` chunk when that profile inflates past
/// [`MAX_ICC_BYTES`], with why it was dropped; `None` when it has no such
/// chunk (the file is decoded as it is).
pub(crate) fn without_oversized_iccp(png: &[u8]) -> Option<(Vec<u8>, String)> {
    let range = iccp_chunk(png)?;
    if !oversized(&png[range.clone()]) {
        return None;
    }
    let mut out = Vec::with_capacity(png.len() - range.len());
    out.extend_from_slice(&png[..range.start]);
    out.extend_from_slice(&png[range.end..]);
    let why = format!(
        "its iCCP profile inflates to more than {} MiB (no real profile is that large), so it was not read",
        MAX_ICC_BYTES >> 20
    );
    Some((out, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]); // CRC (not checked here)
        c
    }

    fn png_with_profile(inflated: usize) -> Vec<u8> {
        let mut z = fdeflate::Compressor::new(Vec::new()).unwrap();
        z.write_data(&vec![0u8; inflated]).unwrap();
        let stream = z.finish().unwrap();
        let mut iccp = b"p\0\0".to_vec();
        iccp.extend_from_slice(&stream);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]));
        png.extend(chunk(b"iCCP", &iccp));
        png.extend(chunk(b"IDAT", b"x"));
        png.extend(chunk(b"IEND", b""));
        png
    }

    #[test]
    fn a_profile_inflating_past_the_cap_is_dropped_and_one_within_it_kept() {
        let bomb = png_with_profile(MAX_ICC_BYTES + 1);
        let (stripped, why) = without_oversized_iccp(&bomb).expect("dropped");
        assert!(why.contains("16 MiB"), "{why}");
        assert!(iccp_chunk(&stripped).is_none());
        assert!(stripped.windows(4).any(|w| w == b"IDAT"));
        assert_eq!(
            without_oversized_iccp(&png_with_profile(MAX_ICC_BYTES)),
            None
        );
        assert_eq!(without_oversized_iccp(&png_with_profile(3000)), None);
        // A probe reads the chunks before the image data, without it.
        let probe = |png: &[u8]| {
            super::super::png_large::file_for_probe(&mut std::io::Cursor::new(png))
                .unwrap()
                .unwrap()
        };
        let idat = stripped.windows(4).position(|w| w == b"IDAT").unwrap();
        assert_eq!(probe(&bomb), Some(stripped[..idat + 4].to_vec()));
        assert_eq!(probe(&png_with_profile(3000)), None);
    }
}
