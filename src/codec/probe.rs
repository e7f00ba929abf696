//! Reading an image's size from its header, without decoding it.

use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;

use image::{ImageDecoder, ImageReader};

use super::{not_an_image, read_up_to, DecodeError};

/// The width and height an image file will have once decoded with its EXIF
/// orientation applied (a quarter turn swaps them), read from its header
/// without decoding any pixels. Refuses what [`decode_file`](super::decode_file) would refuse
/// from the header: a file that is no image impasto decodes, an image of
/// more than `max_pixels` pixels, one with no pixels.
pub fn probe_file(path: impl AsRef<Path>, max_pixels: u64) -> Result<(u32, u32), DecodeError> {
    probe_file_format(path.as_ref(), max_pixels).map(|(_, size)| size)
}

/// [`probe_file`] with the file's format (from its first bytes).
pub(crate) fn probe_file_format(
    path: &Path,
    max_pixels: u64,
) -> Result<(image::ImageFormat, (u32, u32)), DecodeError> {
    probe_header(path, max_pixels).map(|p| (p.format, p.shown()))
}

/// What an image file's header says, as [`probe_header`] reads it.
pub(crate) struct Probed {
    /// From the first bytes, never the extension.
    pub format: image::ImageFormat,
    /// Width and height of the raster as stored, before the orientation.
    pub raw: (u32, u32),
    /// The EXIF orientation (or PNG `eXIf`), applied after decoding.
    pub orientation: image::metadata::Orientation,
    /// The decoder's own pixel layout (a palette PNG's expanded one).
    pub colour: image::ColorType,
    /// The first bytes of the file (up to 4096); for a JPEG, its headers to
    /// its frame header (`jpeg_headers::header_of_file`).
    pub head: Vec<u8>,
}

impl Probed {
    /// The size shown once the orientation is applied.
    pub fn shown(&self) -> (u32, u32) {
        super::oriented_size(self.raw, self.orientation)
    }
}

/// The header facts of [`probe_file_format`], with the orientation, the
/// decoder's pixel layout and the file's first bytes.
pub(crate) fn probe_header(path: &Path, max_pixels: u64) -> Result<Probed, DecodeError> {
    let file = std::fs::File::open(path).map_err(|e| DecodeError(format!("cannot read: {e}")))?;
    probe_reader(file, max_pixels)
}

/// [`probe_header`] of an image held in memory (a `data:` URL's bytes).
pub(crate) fn probe_bytes(bytes: &[u8], max_pixels: u64) -> Result<Probed, DecodeError> {
    probe_reader(std::io::Cursor::new(bytes), max_pixels)
}

/// [`probe_header`] of the image `file` holds, from its start.
fn probe_reader(
    mut file: impl std::io::Read + Seek,
    max_pixels: u64,
) -> Result<Probed, DecodeError> {
    let read_err = |e: std::io::Error| DecodeError(format!("cannot read: {e}"));
    // The format comes from the first bytes, never the extension, as in
    // `decode_file`.
    let mut head = [0u8; 4096];
    let n = read_up_to(&mut file, &mut head).map_err(read_err)?;
    let format = image::guess_format(&head[..n]).map_err(|_| not_an_image(&head[..n]))?;
    super::check_head(&head[..n], format, max_pixels)?;
    // A GIF's size is its logical screen's, in its first ten bytes: what
    // its decode (`gif::decode`, which skips extensions of unknown labels)
    // composites onto. `image`'s GIF decoder refuses such an extension, so
    // a probe through it failed where the decode succeeds, and the decode
    // went uncounted.
    if let (image::ImageFormat::Gif, Some(&[w0, w1, h0, h1])) = (format, head[..n].get(6..10)) {
        let raw = (
            u32::from(u16::from_le_bytes([w0, w1])),
            u32::from(u16::from_le_bytes([h0, h1])),
        );
        super::check_size(raw, max_pixels)?;
        return Ok(Probed {
            format,
            raw,
            orientation: image::metadata::Orientation::NoTransforms,
            colour: image::ColorType::Rgba8,
            head: head[..n].to_vec(),
        });
    }
    // As `decode_file` says it (the decoder reads the side as 0).
    if let Some(side) = super::webp::side_misread(&head[..n]) {
        return Err(super::webp::misread_error(side));
    }
    // A JPEG's headers walked segment by segment to its frame header
    // (`jpeg_headers::header_of_file`), skipping what the segments hold,
    // and read by `jpeg-decoder`: `image`'s decoder reads the whole file
    // into memory first (116 MB for a 116 MB file, to know its size).
    // Headers that do not read so go to `image`'s decoder, for its message
    // (the walked headers kept for `decode_cost` all the same).
    let mut walked = None;
    if format == image::ImageFormat::Jpeg {
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        let header = super::jpeg_headers::header_of_file(&mut file)
            .ok()
            .flatten();
        let opened = header
            .as_deref()
            .and_then(|h| super::jpeg_headers::open(h, max_pixels));
        if let Some(opened) = opened {
            let colour = match opened.grey() {
                Some(true) => image::ColorType::L8,
                _ => image::ColorType::Rgb8,
            };
            let (raw, orientation) = (opened.size, opened.orientation);
            drop(opened);
            return Ok(Probed {
                format,
                raw,
                orientation,
                colour,
                head: header.unwrap_or_default(),
            });
        }
        walked = header;
    }
    // A PNG whose profile is a decompression bomb is probed without it,
    // as it is decoded (`png_iccp`).
    // And without text chunks too large to buffer (`png_large`).
    let stripped = match format {
        image::ImageFormat::Png => {
            super::png_large::file_for_probe(&mut file).map_err(read_err)??
        }
        _ => None,
    };
    file.seek(SeekFrom::Start(0)).map_err(read_err)?;
    let fmt = format!("{format:?}").to_uppercase();
    let not_valid = |e: image::ImageError| {
        DecodeError(format!("not a valid {fmt} file: {}", super::readable(e)))
    };
    let mut decoder: Box<dyn image::ImageDecoder> = match stripped {
        Some(png) => Box::new(
            image::codecs::png::PngDecoder::new(std::io::Cursor::new(png)).map_err(not_valid)?,
        ),
        None => ImageReader::with_format(BufReader::new(file), format)
            .into_decoder()
            .map(|d| Box::new(d) as Box<dyn image::ImageDecoder>)
            .map_err(not_valid)?,
    };
    let (w, h) = decoder.dimensions();
    super::check_size((w, h), max_pixels)?;
    let orientation = match walked.as_deref() {
        // Its first EXIF segment, as on every JPEG path.
        Some(header) => super::jpeg_headers::orientation(header),
        None => decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms),
    };
    Ok(Probed {
        format,
        raw: (w, h),
        orientation,
        colour: decoder.color_type(),
        head: walked.unwrap_or_else(|| head[..n].to_vec()),
    })
}
