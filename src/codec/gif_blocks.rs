//! GIF's blocks walked without decoding them, to drop stray bytes between
//! them: a byte that starts no block (neither an extension `!`, an image
//! `,` nor the trailer `;`), which some encoders and editors leave. GIF87a
//! asks a decoder to skip such bytes until a block starts, and Pillow
//! does; the `gif` crate reads one as the start of an unknown extension
//! and mostly refuses the file ("unexpected end of file").

use std::borrow::Cow;

/// Extension introducer, image separator and trailer.
const EXTENSION: u8 = b'!';
const IMAGE: u8 = b',';
const TRAILER: u8 = b';';

/// `bytes` without the stray bytes between its blocks; the file itself
/// (borrowed) when it has none. Where the blocks cannot be walked to the
/// end (a file cut short), the rest from the block that fails is kept as
/// it is, for the decoder to name what is wrong; not a GIF: the file
/// itself.
pub(super) fn without_stray_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let strays = walk(bytes, |_| {});
    if strays == 0 {
        return Cow::Borrowed(bytes);
    }
    // Runs of kept bytes, copied once: no bookkeeping per stray byte (a
    // file may hold millions).
    let mut out = Vec::with_capacity(bytes.len() - strays);
    walk(bytes, |kept| out.extend_from_slice(&bytes[kept]));
    Cow::Owned(out)
}

/// Walks the blocks of `bytes`, giving `keep` every range of bytes that
/// is not stray, in order; returns how many bytes are stray (none when
/// `bytes` is not a GIF).
fn walk(bytes: &[u8], mut keep: impl FnMut(std::ops::Range<usize>)) -> usize {
    if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) || bytes.len() < 13 {
        keep(0..bytes.len());
        return 0;
    }
    // The logical screen descriptor, and the global colour table.
    let mut at = (13 + colour_table(bytes[10])).min(bytes.len());
    // The start of the run of kept bytes not yet given to `keep`.
    let mut run = 0;
    let mut strays = 0;
    while at < bytes.len() {
        let next = match bytes[at] {
            TRAILER => None,
            // The label, then sub-blocks.
            EXTENSION => Some(sub_blocks(bytes, at + 2)),
            // The descriptor's 9 bytes, the local colour table, the LZW
            // code size, then sub-blocks.
            IMAGE => Some(
                bytes
                    .get(at + 9)
                    .and_then(|&packed| sub_blocks(bytes, at + 10 + colour_table(packed) + 1)),
            ),
            _ => {
                if run < at {
                    keep(run..at);
                }
                strays += 1;
                at += 1;
                run = at;
                continue;
            }
        };
        match next {
            Some(Some(end)) => at = end,
            // The trailer, or a block cut short: the rest as it is.
            _ => break,
        }
    }
    if run < bytes.len() {
        keep(run..bytes.len());
    }
    strays
}

/// The bytes of a colour table a packed field declares.
fn colour_table(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// The offset after the sub-blocks starting at `at` (each a length byte
/// and that many bytes, ended by a zero length), or `None` when the file
/// ends first.
fn sub_blocks(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(at)? as usize;
        at += 1;
        if len == 0 {
            return Some(at);
        }
        at += len;
        if at > bytes.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF of `n` 3x2 frames.
    fn frames(n: u8) -> Vec<u8> {
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let mut bytes = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut bytes, 3, 2, &palette).unwrap();
            for k in 0..n {
                let frame = gif::Frame {
                    width: 3,
                    height: 2,
                    buffer: vec![k, 1, 2, 3, 2, 1].into(),
                    ..gif::Frame::default()
                };
                enc.write_frame(&frame).unwrap();
            }
        }
        bytes
    }

    #[test]
    fn a_file_without_strays_is_borrowed_and_strays_are_dropped() {
        let clean = frames(2);
        assert!(matches!(without_stray_bytes(&clean), Cow::Borrowed(_)));
        // Where the first frame ends (the one-frame file before its
        // trailer), an odd run of zeros and a byte that starts no block;
        // and one before the trailer.
        let at = frames(1).len() - 1;
        assert!(
            matches!(clean[at], IMAGE | EXTENSION),
            "a block starts there"
        );
        let mut dirty = clean[..at].to_vec();
        dirty.extend_from_slice(&[0, 0, 0, 0xFF]);
        dirty.extend_from_slice(&clean[at..clean.len() - 1]);
        dirty.extend_from_slice(&[7, TRAILER]);
        assert_eq!(without_stray_bytes(&dirty).as_ref(), &clean[..]);
        // Decoded, the frames are the clean file's; the crate alone
        // refuses the file.
        let want = super::super::gif::decode(&clean, 100, usize::MAX).unwrap();
        let got = super::super::gif::decode(&dirty, 100, usize::MAX).unwrap();
        assert_eq!(got.frames.len(), 2);
        for (a, b) in want.frames.iter().zip(&got.frames) {
            assert_eq!(a.image, b.image);
        }
        assert_eq!(super::super::gif::scan(&dirty, 100).unwrap().frames, 2);
        // Cut inside the second frame: the strays before the cut are
        // dropped, the rest kept, so the decoder says the file is cut
        // short (not that it has no frames).
        let cut = &dirty[..dirty.len() - 12];
        assert_eq!(
            without_stray_bytes(cut).as_ref(),
            &clean[..clean.len() - 11]
        );
        let e = super::super::gif::decode(cut, 100, usize::MAX).unwrap_err();
        assert!(e.0.contains("truncated or corrupt GIF"), "{}", e.0);
        // Not a GIF: as it is.
        assert!(matches!(without_stray_bytes(b"PNG"), Cow::Borrowed(_)));
        assert!(matches!(without_stray_bytes(b"GIF89a"), Cow::Borrowed(_)));
    }
}
