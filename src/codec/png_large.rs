//! PNG metadata chunks of unbounded size that the `png` decoder buffers
//! whole (several copies at its peak): a reviewer's 64x48 PNG carrying a
//! 250 MB `tEXt` chunk took 1.17 GiB, past the render's estimate, and a
//! probe under a 100 MB limit reached 862 MiB before refusing it. impasto
//! reads no text chunk, so one over [`MAX_TEXT_CHUNK`] is dropped before
//! the decoder sees the file; an `eXIf` chunk (whose orientation is read)
//! over [`MAX_EXIF_CHUNK`] is refused, as no real EXIF block is that large
//! (JPEG's cannot pass 64 KiB).

use super::png_colour::be32;
use super::DecodeError;

/// The largest text chunk (`tEXt`, `zTXt`, `iTXt`) passed to the decoder.
pub(crate) const MAX_TEXT_CHUNK: u64 = 64 << 10;

/// The largest `eXIf` chunk read.
pub(crate) const MAX_EXIF_CHUNK: u64 = 4 << 20;

/// What to do with a chunk of `kind` and data length `len`: `Ok(true)` to
/// drop it, an error to refuse the file.
fn verdict(kind: &[u8], len: u64) -> Result<bool, DecodeError> {
    match kind {
        b"tEXt" | b"zTXt" | b"iTXt" => Ok(len > MAX_TEXT_CHUNK),
        b"eXIf" if len > MAX_EXIF_CHUNK => Err(DecodeError(format!(
            "its eXIf chunk holds {len} bytes, over the {} MiB an EXIF block may take here (no real one is that large)",
            MAX_EXIF_CHUNK >> 20
        ))),
        _ => Ok(false),
    }
}

/// `png` without its text chunks over [`MAX_TEXT_CHUNK`] (anywhere in the
/// file), `None` when it has none (or is no PNG); an error when its `eXIf`
/// chunk is over [`MAX_EXIF_CHUNK`]. A malformed chunk stream ends the walk
/// (the decoder reports it).
pub(crate) fn without_large_text(png: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(None);
    }
    let mut drop = Vec::new();
    let mut at = 8usize;
    while let Some(head) = png.get(at..at + 8) {
        let len = u64::from(be32(head));
        let kind = &head[4..8];
        let end = at as u64 + 12 + len;
        if end > png.len() as u64 {
            break;
        }
        if verdict(kind, len)? {
            drop.push(at..end as usize);
        }
        if kind == b"IEND" {
            break;
        }
        // Within the file's length, checked above.
        at = end as usize;
    }
    if drop.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(png.len() - drop.iter().map(|r| r.len()).sum::<usize>());
    let mut from = 0;
    for r in drop {
        out.extend_from_slice(&png[from..r.start]);
        from = r.end;
    }
    out.extend_from_slice(&png[from..]);
    Ok(Some(out))
}

/// What a probe's decoder is to see of a PNG file read from its start, by
/// one walk of the chunk heads before its image data: `Ok(None)`, the file
/// as it is; when it has text chunks over [`MAX_TEXT_CHUNK`] or a profile
/// that inflates past its cap ([`super::png_iccp`]), its chunks before the
/// image data without those, then the head of its first `IDAT` (all a probe
/// reads: the file is not read whole, and a 200 MB text chunk is skipped,
/// not held); an error when its `eXIf` chunk is over [`MAX_EXIF_CHUNK`].
pub(crate) fn file_for_probe(
    file: &mut (impl std::io::Read + std::io::Seek),
) -> std::io::Result<Result<Option<Vec<u8>>, DecodeError>> {
    use std::io::{Read, SeekFrom};
    let mut at = 8u64;
    // The chunks to keep (where, whole length), and whether any is dropped.
    let mut kept: Vec<(u64, u64)> = Vec::new();
    let mut trim = false;
    // The head of the chunk the walk stopped at (IDAT, IEND), if any.
    let mut last = None;
    loop {
        file.seek(SeekFrom::Start(at))?;
        let mut head = [0u8; 8];
        if file.read_exact(&mut head).is_err() {
            break;
        }
        let len = u64::from(be32(&head));
        let kind = &head[4..8];
        if kind == b"IDAT" || kind == b"IEND" {
            last = Some(head);
            break;
        }
        let drop = match verdict(kind, len) {
            Err(e) => return Ok(Err(e)),
            Ok(drop) => drop,
        };
        let drop = drop
            || kind == b"iCCP" && {
                let mut chunk = head.to_vec();
                file.by_ref().take(len + 4).read_to_end(&mut chunk)?;
                chunk.len() as u64 == len + 12 && super::png_iccp::oversized(&chunk)
            };
        if drop {
            trim = true;
        } else {
            kept.push((at, len.saturating_add(12)));
        }
        at = at.saturating_add(12 + len);
    }
    if !trim {
        return Ok(Ok(None));
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (from, len) in kept {
        file.seek(SeekFrom::Start(from))?;
        file.by_ref().take(len).read_to_end(&mut out)?;
    }
    if let Some(head) = last {
        out.extend_from_slice(&head);
    }
    Ok(Ok(Some(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8], len: usize) -> Vec<u8> {
        let mut c = (len as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend(std::iter::repeat_n(b'a', len));
        c.extend_from_slice(&[0; 4]);
        c
    }

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        for c in chunks {
            p.extend(c);
        }
        p
    }

    #[test]
    fn large_text_chunks_are_dropped_small_ones_kept_and_a_huge_exif_refused() {
        let ihdr = chunk(b"IHDR", 13);
        let (idat, iend) = (chunk(b"IDAT", 5), chunk(b"IEND", 0));
        let small = chunk(b"tEXt", 100);
        let big = chunk(b"zTXt", MAX_TEXT_CHUNK as usize + 1);
        let plain = png(&[ihdr.clone(), small.clone(), idat.clone(), iend.clone()]);
        assert_eq!(without_large_text(&plain).unwrap(), None);
        let with_big = png(&[
            ihdr.clone(),
            big.clone(),
            small.clone(),
            idat.clone(),
            big.clone(),
            iend.clone(),
        ]);
        let want = png(&[ihdr.clone(), small.clone(), idat.clone(), iend.clone()]);
        assert_eq!(without_large_text(&with_big).unwrap(), Some(want.clone()));
        // The probe gets the chunks before the image data, and IDAT's head.
        let probed = file_for_probe(&mut std::io::Cursor::new(&with_big)).unwrap();
        let head = png(&[ihdr.clone(), small.clone(), idat[..8].to_vec()]);
        assert_eq!(probed.unwrap(), Some(head));
        let exif = png(&[
            ihdr.clone(),
            chunk(b"eXIf", MAX_EXIF_CHUNK as usize + 1),
            idat.clone(),
        ]);
        let e = without_large_text(&exif).unwrap_err();
        assert!(e.0.contains("eXIf chunk holds 4194305 bytes"), "{}", e.0);
        assert!(file_for_probe(&mut std::io::Cursor::new(&exif))
            .unwrap()
            .is_err());
        // A chunk length past the file's end ends the walk.
        let mut cut = png(&[ihdr]);
        cut.extend(0xFFFF_FFF0u32.to_be_bytes());
        cut.extend(b"tEXt");
        assert_eq!(without_large_text(&cut).unwrap(), None);
    }
}
