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
    /// Whether the file was cut short: inside a block after a whole frame
    /// (`bytes` then end after the last whole frame, with a trailer), or
    /// after a graphic control extension (the frame it was for is lost).
    pub cut: bool,
    /// How many whole frames `bytes` hold.
    pub frames: usize,
    /// Whether the last of them lacked only its block terminator (given
    /// one): its data may still be cut short, so that a decode that fails
    /// should be tried again without it ([`Unterminated::Dropped`]).
    pub unsure: bool,
}

/// What to do with an image block whose file ends exactly where a
/// sub-block's length is due: all its data may be there (only the
/// terminator and the trailer missing, as some encoders and cut-off
/// downloads leave files; browsers and Pillow show the frame), or not.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Unterminated {
    /// Kept, given its terminator.
    Kept,
    /// Dropped, as a block cut inside.
    Dropped,
}

/// `bytes` without the stray bytes between its blocks; and when the file
/// is cut short inside a block (a download cut off) after at least one
/// whole frame, without what follows the last whole frame, given a
/// trailer, so that the frames before the cut are shown, as browsers show
/// them. The file itself (borrowed) when it needs neither. A file cut in
/// its first frame is kept as it is from the block that fails, for the
/// decoder to say it is truncated; not a GIF: the file itself.
pub(super) fn readable(bytes: &[u8], unterminated: Unterminated) -> Readable<'_> {
    let walked = walk(bytes, unterminated, |_| {});
    let mut readable = Readable {
        bytes: Cow::Borrowed(bytes),
        cut: walked.cut || walked.dangling,
        frames: walked.frames,
        unsure: walked.unterminated,
    };
    if walked.strays == 0 && !walked.cut && !walked.unterminated {
        return readable;
    }
    // Runs of kept bytes, copied once: no bookkeeping per stray byte (a
    // file may hold millions).
    let mut out = Vec::with_capacity(bytes.len() - walked.strays + 2);
    walk(bytes, unterminated, |kept| {
        out.extend_from_slice(&bytes[kept])
    });
    if walked.unterminated {
        out.push(0);
    }
    if walked.cut || walked.unterminated {
        out.push(TRAILER);
    }
    readable.bytes = Cow::Owned(out);
    readable
}

/// What a walk over a file's blocks found.
struct Walked {
    /// How many bytes are stray.
    strays: usize,
    /// Whether the file is cut short inside a block after a whole frame
    /// (the bytes kept then end with that frame).
    cut: bool,
    /// Whether it ends after a graphic control extension, with no frame.
    dangling: bool,
    /// Whether the last frame kept lacks only its block terminator.
    unterminated: bool,
    /// How many whole frames are kept.
    frames: usize,
}

/// The label of a graphic control extension (a frame's delay and
/// disposal, before its image).
const GRAPHIC_CONTROL: u8 = 0xF9;

/// Walks the blocks of `bytes`, giving `keep` every range of bytes that
/// is not stray, in order, up to the end of the last whole frame when the
/// file is cut short inside a block after one (none stray when `bytes` is
/// not a GIF).
fn walk(
    bytes: &[u8],
    unterminated: Unterminated,
    mut keep: impl FnMut(std::ops::Range<usize>),
) -> Walked {
    let mut walked = Walked {
        strays: 0,
        cut: false,
        dangling: false,
        unterminated: false,
        frames: 0,
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
    // The label of the last block read, when an extension.
    let mut last_label = None;
    while at < bytes.len() {
        let next = match bytes[at] {
            TRAILER => break,
            // The label, then sub-blocks.
            EXTENSION => sub_blocks(bytes, at + 2),
            // The descriptor's 9 bytes, the local colour table, the LZW
            // code size, then sub-blocks.
            IMAGE => match bytes.get(at + 9) {
                Some(&packed) => sub_blocks(bytes, at + 10 + colour_table(packed) + 1),
                None => Err(Ends::Inside),
            },
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
        let image = bytes[at] == IMAGE;
        match next {
            Ok(end) => {
                if image {
                    frame_end = Some(end);
                    walked.frames += 1;
                }
                last_label = (!image).then(|| bytes.get(at + 1).copied()).flatten();
                at = end;
            }
            // All the frame's sub-blocks there but its terminator: kept.
            Err(Ends::AtLength) if image && unterminated == Unterminated::Kept => {
                walked.unterminated = true;
                walked.frames += 1;
                last_label = None;
                break;
            }
            // Cut short after a whole frame: up to its end. (What was
            // given to `keep` before ends at a block's end, before a
            // stray byte; the run kept since starts there.) Cut in the
            // first frame: the rest as it is.
            Err(_) => {
                let Some(end) = frame_end else { break };
                if run < end {
                    keep(run..end);
                }
                walked.cut = true;
                return walked;
            }
        }
    }
    walked.dangling = at >= bytes.len() && last_label == Some(GRAPHIC_CONTROL);
    if run < bytes.len() {
        keep(run..bytes.len());
    }
    walked
}

/// How a block's sub-blocks end when the file ends first.
enum Ends {
    /// Where a sub-block's length byte is due (the terminator, perhaps).
    AtLength,
    /// Inside a sub-block, or before them.
    Inside,
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
/// and that many bytes, ended by a zero length), or where the file ends
/// first.
fn sub_blocks(bytes: &[u8], mut at: usize) -> Result<usize, Ends> {
    loop {
        let Some(&len) = bytes.get(at) else {
            return Err(match at == bytes.len() {
                true => Ends::AtLength,
                false => Ends::Inside,
            });
        };
        at += 1;
        if len == 0 {
            return Ok(at);
        }
        at += len as usize;
        if at > bytes.len() {
            return Err(Ends::Inside);
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

    fn read(b: &[u8]) -> Readable<'_> {
        readable(b, Unterminated::Kept)
    }

    fn decode(b: &[u8]) -> Result<crate::codec::Animation, crate::codec::DecodeError> {
        super::super::gif::decode(b, 100, 0..usize::MAX, &|| false)
    }

    #[test]
    fn a_file_without_strays_is_borrowed_and_strays_are_dropped() {
        let clean = frames(2);
        assert!(matches!(read(&clean).bytes, Cow::Borrowed(_)));
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
        assert_eq!(read(&dirty).bytes.as_ref(), &clean[..]);
        assert!(!read(&dirty).cut);
        // Decoded, the frames are the clean file's; the crate alone
        // refuses the file.
        let want = decode(&clean).unwrap();
        let got = decode(&dirty).unwrap();
        assert_eq!(got.frames.len(), 2);
        for (a, b) in want.frames.iter().zip(&got.frames) {
            assert_eq!(a.image, b.image);
        }
        assert_eq!(super::super::gif::scan(&dirty, 100).unwrap().frames, 2);
        // Not a GIF: as it is.
        assert!(matches!(read(b"PNG").bytes, Cow::Borrowed(_)));
        assert!(matches!(read(b"GIF89a").bytes, Cow::Borrowed(_)));
    }

    #[test]
    fn a_file_cut_after_a_whole_frame_keeps_its_whole_frames_and_one_cut_in_its_first_fails() {
        let clean = frames(3);
        let two = frames(2);
        let want = decode(&clean).unwrap();
        // Cut at every byte of the third frame (the graphic control
        // extension before its image block, and that block): the first two
        // frames. A cut between two blocks needs only the trailer; one
        // right after the extension has lost a frame too.
        let gce = two.len() - 1;
        let image = gce + 8;
        assert_eq!((clean[gce], clean[image]), (EXTENSION, IMAGE));
        // Where a length byte of the third frame is due (its first, and
        // its terminator): taken as whole, then, when its data is cut (the
        // first), dropped on decoding.
        let (first_length, terminator) = (image + 11, clean.len() - 2);
        for end in gce..clean.len() - 1 {
            let cut = &clean[..end];
            let r = read(cut);
            let at_length = end == first_length || end == terminator;
            assert_eq!(r.cut, end != gce && !at_length, "cut at {end}");
            assert_eq!(r.unsure, at_length, "cut at {end}");
            assert_eq!(r.frames, if at_length { 3 } else { 2 }, "cut at {end}");
            let got = decode(cut).unwrap();
            let whole = if end == terminator { 3 } else { 2 };
            assert_eq!(got.frames.len(), whole, "cut at {end}");
            if end != gce && end != image && !at_length {
                assert_eq!(r.bytes.as_ref(), &two[..], "cut at {end}");
            }
            for (a, b) in want.frames.iter().zip(&got.frames) {
                assert_eq!(a.image, b.image, "cut at {end}");
            }
            // The headers alone count a frame whose data is cut at a
            // sub-block's end.
            let scanned = super::super::gif::scan(cut, 100).unwrap().frames as usize;
            let counted = if end == first_length { 2 } else { r.frames };
            assert_eq!(scanned, counted, "cut at {end}");
        }
        // With stray bytes before the cut: dropped, the rest as above.
        let at = frames(1).len() - 1;
        let mut dirty = clean[..at].to_vec();
        dirty.extend_from_slice(&[0, 0xFF]);
        dirty.extend_from_slice(&clean[at..clean.len() - 5]);
        assert_eq!(read(&dirty).bytes.as_ref(), &two[..]);
        // Cut inside the first frame: as it is; the decoder says so.
        let one = frames(1);
        let cut = &one[..one.len() - 4];
        assert!(!read(cut).cut);
        assert_eq!(read(cut).bytes.as_ref(), cut);
        let e = decode(cut).unwrap_err();
        assert!(e.0.contains("truncated or corrupt GIF"), "{}", e.0);
    }

    #[test]
    fn a_last_frame_without_its_terminator_is_shown_whole_or_dropped_when_its_data_is_cut() {
        // 40x40 frames of noise: their data spans several sub-blocks.
        let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, i / 2, 255 - i]).collect();
        let mut bytes = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut bytes, 40, 40, &palette).unwrap();
            for k in 0..2u32 {
                let buffer: Vec<u8> = (0..1600u32)
                    .map(|i| (i.wrapping_mul(2654435761).wrapping_add(k * 77) >> 24) as u8)
                    .collect();
                let frame = gif::Frame {
                    width: 40,
                    height: 40,
                    buffer: buffer.into(),
                    ..gif::Frame::default()
                };
                enc.write_frame(&frame).unwrap();
            }
        }
        let want = super::super::gif::decode(&bytes, 10_000, 0..usize::MAX, &|| false).unwrap();
        // The second frame's sub-blocks: a cut at each length byte.
        let second_data = {
            let gce = bytes.len() - 1 - 1;
            let mut at = gce;
            while at > 0 && !(bytes[at] == IMAGE && bytes.get(at + 9) == Some(&0)) {
                at -= 1;
            }
            at + 10 + 1
        };
        let mut lengths = Vec::new();
        let mut at = second_data;
        while bytes[at] != 0 {
            lengths.push(at);
            at += 1 + bytes[at] as usize;
        }
        assert!(lengths.len() > 1, "several sub-blocks");
        let terminator = at;
        let decode_all = |b: &[u8]| super::super::gif::decode(b, 10_000, 0..usize::MAX, &|| false);
        // Only the terminator missing: both frames (refused before).
        let got = decode_all(&bytes[..terminator]).unwrap();
        assert_eq!(got.frames.len(), 2);
        assert_eq!(got.frames[1].image, want.frames[1].image);
        // Cut at an earlier length byte: the first frame alone.
        for &cut in &lengths[1..] {
            let got = decode_all(&bytes[..cut]).unwrap();
            assert_eq!(got.frames.len(), 1, "cut at {cut}");
            assert_eq!(got.frames[0].image, want.frames[0].image);
        }
    }
}
