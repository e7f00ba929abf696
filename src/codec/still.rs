//! Still images decoded from their bytes to straight-alpha 8-bit sRGB RGBA:
//! the format from the first bytes; JPEG's own paths (CMYK through
//! `cmyk`, the layouts `zune-jpeg` gets wrong through `jpeg_layout`), PNG
//! row by row (`png_rows`), everything else through `image`'s decoders;
//! then the EXIF orientation and the colour profile (`icc`, PNG's colour
//! chunks in `png_colour`), and why a profile was ignored.

use std::io::BufReader;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbaImage};

use super::{
    broken_icc, cmyk, gif, icc, icc16, join_notes, jpeg_full, jpeg_layout, not_an_image,
    png_colour, png_iccp, png_large, png_rows, webp, DecodeError, Notes,
};

/// [`decode_bytes`], and its notes: why the file's colour profile (or PNG
/// colour chunk) was ignored, if it was (the pixels are then taken as
/// sRGB); a GIF's first frame shown cut short.
pub(crate) fn decode_bytes_noting(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(RgbaImage, Notes), DecodeError> {
    if bytes.starts_with(b"GIF8") {
        // The first frame as browsers composite it (transparent canvas).
        gif::scan(bytes, max_pixels)?;
        let mut anim = gif::decode(bytes, max_pixels, 0..1, &|| false)?;
        let first = anim.frames.swap_remove(0);
        return Ok((std::sync::Arc::unwrap_or_clone(first.image), anim.notes));
    }
    let (img, note) = decode_noting(bytes, max_pixels)?;
    // A JPEG whose profile lost a segment: every decoder gives none.
    let note = match note {
        None if bytes.starts_with(&[0xFF, 0xD8]) => broken_icc(bytes),
        note => note,
    };
    Ok((img, Notes::colour(note)))
}

/// Where a PNG (its signature read) that lacks a whole `IEND` is to be
/// given one: after its last whole chunk, when those hold image data
/// (`IDAT`) and what follows them is nothing or the start of an `IEND` cut
/// short. `None` for any other file. One cut inside another chunk was
/// given one too, and its bytes were then read as the cut chunk's: a file
/// cut to 16 bytes was "an image of 0x1229278788 pixels" (the height read
/// from "IEND"), one cut in its image data a checksum error.
fn png_end_at(bytes: &[u8]) -> Option<usize> {
    let (mut at, mut data) = (8usize, false);
    loop {
        let rest = &bytes[at.min(bytes.len())..];
        if PNG_IEND.starts_with(rest) && rest.len() < PNG_IEND.len() {
            return data.then_some(at);
        }
        let head = bytes.get(at..at + 8)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"IEND" => return None,
            b"IDAT" => data = true,
            _ => {}
        }
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) if next <= bytes.len() => next,
            _ => return None,
        };
    }
}

/// A PNG's last chunk: IEND, empty, with its CRC.
const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// [`decode_bytes_noting`] but for a JPEG's incomplete profile.
fn decode_noting(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(RgbaImage, Option<String>), DecodeError> {
    // A PNG cut after its image data, its IEND chunk missing (some
    // encoders and cut-off downloads; browsers and Pillow show it): given
    // its IEND. One cut earlier still fails (rows or a checksum missing).
    // (The copy, the file once more, is left out of `decode_cost`: rare.)
    let ended = match bytes.starts_with(b"\x89PNG\r\n\x1a\n") && !bytes.ends_with(&PNG_IEND) {
        true => png_end_at(bytes).map(|at| [&bytes[..at], &PNG_IEND[..]].concat()),
        false => None,
    };
    let bytes = ended.as_deref().unwrap_or(bytes);
    // Text chunks too large for the decoder to buffer, dropped (`png_large`).
    let trimmed = png_large::without_large_text(bytes)?;
    let bytes = trimmed.as_deref().unwrap_or(bytes);
    // A PNG whose profile is a decompression bomb: decoded without it.
    let stripped = png_iccp::without_oversized_iccp(bytes);
    let (bytes, bomb) = match &stripped {
        Some((png, why)) => (png.as_slice(), Some(why.clone())),
        None => (bytes, None),
    };
    // Read through an input that fails once the render must stop.
    let reader = ImageReader::new(BufReader::new(super::halting_input::HaltingReader::new(
        bytes,
    )))
    .with_guessed_format()
    .map_err(|e| DecodeError(format!("cannot read: {e}")))?;
    let Some(format) = reader.format() else {
        return Err(not_an_image(bytes));
    };
    super::check_head(bytes, format, max_pixels)?;
    let fmt = format!("{format:?}").to_uppercase();
    if format == image::ImageFormat::Jpeg && !jpeg_has_end(bytes) {
        // The decoder would fill the missing part with grey.
        // A scan whose header is whole, and data follows it.
        let scan = memchr::memmem::find(bytes, &[0xFF, 0xDA]).is_some_and(|at| {
            let len = bytes
                .get(at + 2..at + 4)
                .map(|l| u16::from_be_bytes([l[0], l[1]]));
            len.is_some_and(|len| at + 2 + usize::from(len) < bytes.len())
        });
        return Err(DecodeError(
            match scan {
                true => "truncated JPEG file: no end-of-image marker after the last scan",
                false => "truncated JPEG file: it ends before its image data (no scan)",
            }
            .into(),
        ));
    }
    if format == image::ImageFormat::WebP {
        webp::check_chunks(bytes)?;
    }
    if let Some(side) = webp::side_misread(bytes).filter(|_| format == image::ImageFormat::WebP) {
        return Err(webp::misread_error(side));
    }
    if format == image::ImageFormat::Jpeg {
        if let Some(decoded) = cmyk::decode(bytes, max_pixels)? {
            return Ok(decoded);
        }
        if let Some(decoded) = jpeg_layout::decode(bytes, max_pixels)? {
            return Ok(decoded);
        }
        if let Some(decoded) = jpeg_full::decode(bytes, max_pixels) {
            let d = decoded?;
            let mut img = oriented(d.image, d.orientation);
            let why = icc::to_srgb(&mut img, d.icc.as_deref(), icc::Source::Rgb);
            return Ok((img, join_notes(bomb, why)));
        }
        // The decoders above read through an input that fails once the
        // render must stop, which they may take for a file they do not
        // cover: `image`'s decoder, which takes no stop, is not started.
        if super::halt_scope::must_stop() {
            return Err(DecodeError(super::halting_input::STOPPED.into()));
        }
    }
    // The decoder's own allocation limit backs up the pixel check below.
    let max_alloc = max_pixels.saturating_mul(16).max(64 << 20);
    if format == image::ImageFormat::Png && super::apng::default_image_hidden(bytes) {
        let (img, why) = super::anim::apng_first_frame(bytes, max_pixels)?;
        return Ok((img, join_notes(bomb, why)));
    }
    if format == image::ImageFormat::Png {
        let alloc = usize::try_from(max_alloc).unwrap_or(usize::MAX);
        if let Some(rows) = png_rows::open(bytes, max_pixels, alloc) {
            let colour = png_colour::colour(bytes, rows.icc.clone());
            let source = png_source(&colour, rows.layout);
            let deep = rows
                .deep()
                .then(|| icc16::deep(colour.profile.as_deref(), source))
                .flatten();
            let (layout, orientation) = (rows.layout, rows.orientation);
            let (img, refused) = rows.read(deep.as_ref())?;
            let converted = deep.is_some().then_some(refused);
            return Ok(finish_png(
                img,
                layout,
                orientation,
                colour,
                converted,
                bomb,
            ));
        }
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_alloc);
    let mut reader = reader;
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| DecodeError(format!("not a valid {fmt} file: {}", super::readable(e))))?;
    let (w, h) = decoder.dimensions();
    super::check_size((w, h), max_pixels)?;
    let orientation = match format {
        // Its first EXIF segment, as on every JPEG path.
        image::ImageFormat::Jpeg => super::jpeg_headers::orientation(bytes),
        _ => decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms),
    };
    // A profile the decoder cannot even extract is no profile: sRGB.
    let embedded = decoder.icc_profile().ok().flatten();
    let layout = decoder.color_type();
    let img = DynamicImage::from_decoder(decoder).map_err(|e| {
        DecodeError(format!(
            "truncated or corrupt {fmt} file: {}",
            super::readable(e)
        ))
    })?;
    if format == image::ImageFormat::Png {
        // Interlaced (or otherwise not streamed): 16-bit samples converted
        // at 16 bits too.
        let colour = png_colour::colour(bytes, embedded);
        let deep = png_rows::sixteen_bit(layout)
            .then(|| icc16::deep(colour.profile.as_deref(), png_source(&colour, layout)))
            .flatten();
        let (img, converted) = match deep.as_ref().and_then(|d| d.image_to_rgba8(&img)) {
            Some((img, refused)) => (img, Some(refused)),
            None => (into_rgba8(img), None),
        };
        return Ok(finish_png(
            img,
            layout,
            orientation,
            colour,
            converted,
            bomb,
        ));
    }
    let img = into_rgba8(img);
    let mut img = oriented(img, orientation);
    let why = icc::to_srgb(&mut img, embedded.as_deref(), icc_source(layout));
    Ok((img, join_notes(bomb, why)))
}

/// `img` with `orientation` applied.
fn oriented(img: RgbaImage, orientation: image::metadata::Orientation) -> RgbaImage {
    let mut img = DynamicImage::ImageRgba8(img);
    img.apply_orientation(orientation);
    img.into_rgba8()
}

/// The kind of pixels a PNG's profile applies to: a profile made from
/// code points or chunks is RGB, and applies to grey expanded to RGB too.
fn png_source(colour: &png_colour::PngColour, layout: image::ColorType) -> icc::Source {
    if colour.made {
        icc::Source::Rgb
    } else {
        icc_source(layout)
    }
}

/// A decoded PNG (decoded from `layout` to `img`) oriented and converted to
/// sRGB through `colour`, the profile its `iCCP` chunk or colour chunks
/// give, unless that was `converted` at 16 bits already (with the
/// conversion's own note); with the notes of what was ignored after `note`.
fn finish_png(
    img: RgbaImage,
    layout: image::ColorType,
    orientation: image::metadata::Orientation,
    colour: png_colour::PngColour,
    converted: Option<Option<String>>,
    note: Option<String>,
) -> (RgbaImage, Option<String>) {
    let mut img = oriented(img, orientation);
    let why = match converted {
        Some(why) => why,
        None => icc::to_srgb(
            &mut img,
            colour.profile.as_deref(),
            png_source(&colour, layout),
        ),
    };
    (img, join_notes(join_notes(note, colour.ignored), why))
}

/// `img` as 8-bit RGBA, the same pixels `DynamicImage::into_rgba8` gives:
/// 8-bit RGB and grey (what JPEG decoders return) are expanded on every
/// core, in bands of rows; other layouts go through `image`'s conversion,
/// which runs on one thread (BENCHMARKS.md, "the social card's serial
/// path").
pub(crate) fn into_rgba8(img: DynamicImage) -> RgbaImage {
    use rayon::prelude::*;
    // Pixels per job: large enough that rayon's splitting costs nothing
    // next to the copy.
    const BAND: usize = 1 << 14;
    let (w, h) = (img.width(), img.height());
    let n = w as usize * h as usize;
    let mut out = vec![0u8; n * 4];
    let bands = out.par_chunks_mut(4 * BAND);
    match &img {
        DynamicImage::ImageRgb8(rgb) => bands
            .zip(rgb.as_raw()[..n * 3].par_chunks(3 * BAND))
            .for_each(|(d, s)| {
                for (d, s) in d.chunks_exact_mut(4).zip(s.chunks_exact(3)) {
                    d[..3].copy_from_slice(s);
                    d[3] = 255;
                }
            }),
        DynamicImage::ImageLuma8(grey) => {
            bands
                .zip(grey.as_raw()[..n].par_chunks(BAND))
                .for_each(|(d, s)| {
                    for (d, &l) in d.chunks_exact_mut(4).zip(s) {
                        d.copy_from_slice(&[l, l, l, 255]);
                    }
                })
        }
        _ => return img.into_rgba8(),
    }
    // `out` holds exactly w * h pixels of 4 bytes, so `from_raw` (which
    // only checks that the buffer is large enough) cannot fail.
    RgbaImage::from_raw(w, h, out).expect("w * h RGBA pixels")
}

/// What kind of pixels a decoder's profile describes. (CMYK JPEGs do not
/// come here: [`cmyk`] decodes them.)
fn icc_source(decoded: image::ColorType) -> icc::Source {
    if decoded.has_color() {
        icc::Source::Rgb
    } else {
        icc::Source::Grey
    }
}

/// Whether a JPEG has more scans than a decoder should walk: more than
/// `zune-jpeg`'s limit of 100 (the full-size decoder, which refuses such a
/// file), with room for an embedded thumbnail's. `jpeg-decoder` (scaled
/// and unusual-layout decodes) has no limit and cannot be interrupted: a
/// reviewer's 2 MB file of 20,000 progressive scans, each of a few bytes
/// walking every block, ran for minutes past `--timeout`. Such a file is
/// left to the full-size path, which refuses it.
pub(crate) fn jpeg_has_too_many_scans(bytes: &[u8]) -> bool {
    const ZUNE_MAX_SCANS: usize = 100;
    const THUMBNAIL_SCANS: usize = 10;
    memchr::memmem::find_iter(bytes, &[0xFF, 0xDA])
        .nth(ZUNE_MAX_SCANS + THUMBNAIL_SCANS)
        .is_some()
}

/// Whether a JPEG stream has its end-of-image marker (`FF D9`) after the
/// start of its last scan (`FF DA`). Inside entropy-coded data a `FF` byte is
/// always followed by `00` or a restart marker, so an `FF D9` there is the
/// real end; an embedded EXIF thumbnail's end comes before the scans.
///
/// Found from both ends, so that the entropy-coded data in between (nearly
/// all of the file) is not scanned: the last `FF D9` (near the end of a
/// whole file), no `FF DA` after it, and an `FF DA` before it (the first
/// scan's header, near the start). That is the same answer as "an `FF D9`
/// after the last `FF DA`".
pub(crate) fn jpeg_has_end(bytes: &[u8]) -> bool {
    use memchr::memmem;
    let Some(end) = memmem::rfind(bytes, &[0xFF, 0xD9]) else {
        return false;
    };
    memmem::find(&bytes[end..], &[0xFF, 0xDA]).is_none()
        && memmem::find(&bytes[..end], &[0xFF, 0xDA]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_or_jpeg_cut_short_says_so_and_only_a_png_of_whole_chunks_gets_its_iend() {
        let img = RgbaImage::from_fn(40, 30, |x, y| {
            image::Rgba([(x * 6) as u8, (y * 8) as u8, 77, 255])
        });
        let png = super::super::encode(&img, super::super::OutputFormat::Png).unwrap();
        let whole = png.len() - 12;
        // No IEND, or part of one: given one after the last whole chunk.
        for cut in whole..png.len() {
            assert_eq!(png_end_at(&png[..cut]), Some(whole), "{cut}");
            assert_eq!(decode_bytes_noting(&png[..cut], u64::MAX).unwrap().0, img);
        }
        assert_eq!(png_end_at(&png), None);
        // Cut in its header, or in its data: "end of file", never an image
        // of a size read from a borrowed IEND, nor a checksum error.
        for cut in [16, 20, 30, png.len() - 20] {
            assert_eq!(png_end_at(&png[..cut]), None, "{cut}");
            let e = decode_bytes_noting(&png[..cut], u64::MAX).unwrap_err().0;
            assert!(e.contains("end of file"), "{cut}: {e}");
        }
        let jpeg = super::super::encode(&img, super::super::OutputFormat::Jpeg { quality: 80 });
        let jpeg = jpeg.unwrap();
        let e = decode_bytes_noting(&jpeg[..60], u64::MAX).unwrap_err().0;
        assert!(e.contains("it ends before its image data"), "{e}");
        // Cut inside the scan's header.
        let sos = memchr::memmem::find(&jpeg, &[0xFF, 0xDA]).unwrap();
        let e = decode_bytes_noting(&jpeg[..sos + 5], u64::MAX)
            .unwrap_err()
            .0;
        assert!(e.contains("it ends before its image data"), "{e}");
        let e = decode_bytes_noting(&jpeg[..jpeg.len() - 2], u64::MAX)
            .unwrap_err()
            .0;
        assert!(e.contains("no end-of-image marker"), "{e}");
    }
}
