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

/// A GIF's bytes made readable: see [`readable`].
pub(super) struct Readable<'a> {
    /// The bytes to decode.
    pub bytes: Cow<'a, [u8]>,
    /// Whether the file was cut short inside a block after a whole frame:
    /// `bytes` then end after the last whole frame, with a trailer.
    pub cut: bool,
}

/// `bytes` without the stray bytes between its blocks; and when the file
/// is cut short inside a block (a download cut off) after at least one
/// whole frame, without what follows the last whole frame, given a
/// trailer, so that the frames before the cut are shown, as browsers show
/// them. The file itself (borrowed) when it needs neither. A file cut in
/// its first frame is kept as it is from the block that fails, for the
/// decoder to say it is truncated; not a GIF: the file itself.
pub(super) fn readable(bytes: &[u8]) -> Readable<'_> {
    let walked = walk(bytes, |_| {});
    if walked.strays == 0 && !walked.cut {
        return Readable {
            bytes: Cow::Borrowed(bytes),
            cut: false,
        };
    }
    // Runs of kept bytes, copied once: no bookkeeping per stray byte (a
    // file may hold millions).
    let mut out = Vec::with_capacity(bytes.len() - walked.strays + 1);
    walk(bytes, |kept| out.extend_from_slice(&bytes[kept]));
    if walked.cut {
        out.push(TRAILER);
    }
    Readable {
        bytes: Cow::Owned(out),
        cut: walked.cut,
    }
}

/// What a walk over a file's blocks found.
struct Walked {
    /// How many bytes are stray.
    strays: usize,
    /// Whether the file is cut short inside a block after a whole frame
    /// (the bytes kept then end with that frame).
    cut: bool,
}

/// Walks the blocks of `bytes`, giving `keep` every range of bytes that
/// is not stray, in order, up to the end of the last whole frame when the
/// file is cut short inside a block after one (none stray when `bytes` is
/// not a GIF).
fn walk(bytes: &[u8], mut keep: impl FnMut(std::ops::Range<usize>)) -> Walked {
    let mut walked = Walked {
        strays: 0,
        cut: false,
    };
    if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) || bytes.len() < 13 {
        keep(0..bytes.len());
        return walked;
    }
    // The logical screen descriptor, and the global colour table.
    let mut at = (13 + colour_table(bytes[10])).min(bytes.len());
    // The start of the run of kept bytes not yet given to `keep`.
    let mut run = 0;
    // Where the last whole frame ends.
    let mut frame_end = None;
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
                walked.strays += 1;
                at += 1;
                run = at;
                continue;
            }
        };
        match next {
            Some(Some(end)) => {
                if bytes[at] == IMAGE {
                    frame_end = Some(end);
                }
                at = end;
            }
            // Cut short after a whole frame: up to its end. (What was
            // given to `keep` before ends at a block's end, before a
            // stray byte; the run kept since starts there.)
            // (Cut in the first frame: the rest as it is.)
            Some(None) => {
                let Some(end) = frame_end else { break };
                if run < end {
                    keep(run..end);
                }
                walked.cut = true;
                return walked;
            }
            // The trailer.
            None => break,
        }
    }
    if run < bytes.len() {
        keep(run..bytes.len());
    }
    walked
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
        let readable_bytes = |b: &[u8]| readable(b).bytes.into_owned();
        assert!(matches!(readable(&clean).bytes, Cow::Borrowed(_)));
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
        assert_eq!(readable_bytes(&dirty), clean);
        assert!(!readable(&dirty).cut);
        // Decoded, the frames are the clean file's; the crate alone
        // refuses the file.
        let want = super::super::gif::decode(&clean, 100, usize::MAX, &|| false).unwrap();
        let got = super::super::gif::decode(&dirty, 100, usize::MAX, &|| false).unwrap();
        assert_eq!(got.frames.len(), 2);
        for (a, b) in want.frames.iter().zip(&got.frames) {
            assert_eq!(a.image, b.image);
        }
        assert_eq!(super::super::gif::scan(&dirty, 100).unwrap().frames, 2);
        // Not a GIF: as it is.
        assert!(matches!(readable(b"PNG").bytes, Cow::Borrowed(_)));
        assert!(matches!(readable(b"GIF89a").bytes, Cow::Borrowed(_)));
    }

    #[test]
    fn a_file_cut_after_a_whole_frame_keeps_its_whole_frames_and_one_cut_in_its_first_fails() {
        let clean = frames(3);
        let two = frames(2);
        let want = super::super::gif::decode(&clean, 100, usize::MAX, &|| false).unwrap();
        // Cut at every byte of the third frame (the graphic control
        // extension before its image block, and that block): the first two
        // frames. A cut between two blocks needs only the trailer.
        let gce = two.len() - 1;
        let image = gce + 8;
        assert_eq!((clean[gce], clean[image]), (EXTENSION, IMAGE));
        for end in gce..clean.len() - 1 {
            let cut = &clean[..end];
            let r = readable(cut);
            let between_blocks = end == gce || end == image;
            assert_eq!(r.cut, !between_blocks, "cut at {end}");
            if r.cut {
                assert_eq!(r.bytes.as_ref(), &two[..], "cut at {end}");
            }
            let got = super::super::gif::decode(cut, 100, usize::MAX, &|| false).unwrap();
            assert_eq!(got.frames.len(), 2, "cut at {end}");
            for (a, b) in want.frames.iter().zip(&got.frames) {
                assert_eq!(a.image, b.image, "cut at {end}");
            }
            assert_eq!(super::super::gif::scan(cut, 100).unwrap().frames, 2);
        }
        // With stray bytes before the cut: dropped, the rest as above.
        let at = frames(1).len() - 1;
        let mut dirty = clean[..at].to_vec();
        dirty.extend_from_slice(&[0, 0xFF]);
        dirty.extend_from_slice(&clean[at..clean.len() - 5]);
        assert_eq!(readable(&dirty).bytes.as_ref(), &two[..]);
        // Cut inside the first frame: as it is; the decoder says so.
        let one = frames(1);
        let cut = &one[..one.len() - 4];
        assert!(!readable(cut).cut);
        assert_eq!(readable(cut).bytes.as_ref(), cut);
        let e = super::super::gif::decode(cut, 100, usize::MAX, &|| false).unwrap_err();
        assert!(e.0.contains("truncated or corrupt GIF"), "{}", e.0);
    }
}
