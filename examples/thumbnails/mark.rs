//! The mark a JPEG thumbnail carries: a comment segment (`COM`) reading
//! "impasto thumbnail", 21 bytes after the file's first segments. Where the
//! output folder nests with the input, a JPEG already at a thumbnail's path
//! is replaced only when it carries the mark (an earlier run's thumbnail,
//! whatever its quality), never a photo that happens to have the
//! thumbnail's name and size. Lossless thumbnails need no mark: an earlier
//! run's has the new one's very pixels.

/// The comment's text.
const MARK: &[u8] = b"impasto thumbnail";

/// `jpeg` with the mark added after its start and its `APPn` segments
/// (JFIF's `APP0` must come first); as it was when it is no JPEG.
pub fn marked(jpeg: Vec<u8>) -> Vec<u8> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return jpeg;
    }
    let mut at = 2;
    while let Some(&[0xFF, marker, hi, lo]) = jpeg.get(at..at + 4) {
        if !(0xE0..=0xEF).contains(&marker) {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
    }
    let at = at.min(jpeg.len());
    let mut out = Vec::with_capacity(jpeg.len() + MARK.len() + 4);
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    // MARK is 17 bytes: the length (itself included) fits a u16.
    out.extend_from_slice(&(MARK.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(MARK);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// Whether `jpeg` (a JPEG file's first bytes, or all of them) carries the
/// mark in a segment before its first scan.
pub fn is_marked(jpeg: &[u8]) -> bool {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut at = 2;
    while let Some(&[0xFF, marker, hi, lo]) = jpeg.get(at..at + 4) {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        // Start of scan: no header segment follows.
        if marker == 0xDA || len < 2 {
            return false;
        }
        if marker == 0xFE && jpeg.get(at + 4..at + 2 + len) == Some(MARK) {
            return true;
        }
        at += 2 + len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_jpeg_decodes_as_before_and_is_told_from_an_unmarked_one() {
        let img = image::RgbaImage::from_pixel(16, 8, image::Rgba([200, 40, 40, 255]));
        let jpeg = impasto::codec::encode(&img, impasto::codec::OutputFormat::Jpeg { quality: 80 })
            .unwrap();
        assert!(!is_marked(&jpeg));
        let with = marked(jpeg.clone());
        assert!(is_marked(&with));
        assert_eq!(with.len(), jpeg.len() + 21);
        let (a, b) = (
            impasto::codec::decode_bytes(&jpeg, u64::MAX).unwrap(),
            impasto::codec::decode_bytes(&with, u64::MAX).unwrap(),
        );
        assert!(a == b, "the mark changes no pixel");
        // Not a JPEG, or cut short: no mark, no panic.
        assert_eq!(marked(b"PNG".to_vec()), b"PNG");
        assert!(!is_marked(&with[..10]) && !is_marked(b"") && !is_marked(b"\xFF\xD8\xFF"));
        // Another comment is no mark.
        let mut other = jpeg[..2].to_vec();
        other.extend_from_slice(b"\xFF\xFE\x00\x07photo");
        other.extend_from_slice(&jpeg[2..]);
        assert!(!is_marked(&other));
    }
}
