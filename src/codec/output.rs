//! The output side of the codec: the formats written, encoding straight
//! 8-bit RGBA in each, and the atomic file writes (a temporary file in the
//! same folder renamed into place, so a failed render never leaves a file).

use std::io::Write;
use std::path::Path;

use image::RgbaImage;

use super::{avif, jpeg, webp};
use crate::error::Error;

/// Output formats, chosen by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFormat {
    /// `.png`: 8-bit RGBA, straight alpha, fast compression.
    Png,
    /// `.jpg` / `.jpeg`: flattened over opaque white; baseline, encoded in
    /// parallel strips joined by restart markers on large images.
    Jpeg {
        /// 1..=100; below 90 colour is subsampled 4:2:0.
        quality: u8,
    },
    /// `.webp`, lossy (libwebp): colour lossy at `quality`, straight alpha
    /// kept losslessly beside it.
    WebP {
        /// 1..=100, libwebp's scale.
        quality: u8,
    },
    /// `.webp`, lossless: 8-bit RGBA, every visible pixel exact.
    WebPLossless,
    /// `.avif` (AV1 through `ravif`, pure Rust), lossy at `quality`, alpha
    /// kept. Seconds per megapixel on two cores: for files kept, not for
    /// latency-bound requests.
    Avif {
        /// 1..=100, ravif's scale.
        quality: u8,
    },
    /// `.gif`, a still GIF: 256 colours (the exact ones when the image has
    /// that few, else a NeuQuant palette with Floyd-Steinberg dithering),
    /// one-bit alpha (pixels below half opacity are transparent); the
    /// same file as `impasto render` and
    /// [`crate::RenderedAnimation::still`] write.
    Gif,
}

impl OutputFormat {
    /// The format for a path's extension (case-insensitive); JPEG and WebP
    /// get `quality` (WebP is lossy).
    pub fn from_path(path: &Path, quality: u8) -> Result<OutputFormat, Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(OutputFormat::Png),
            Some("jpg") | Some("jpeg") => Ok(OutputFormat::Jpeg { quality }),
            Some("webp") => Ok(OutputFormat::WebP { quality }),
            Some("avif") => Ok(OutputFormat::Avif { quality }),
            Some("gif") => Ok(OutputFormat::Gif),
            _ => Err(Error::Output(format!(
                "{}: unknown output format: the file name must end in .png, .jpg, .jpeg, .webp, .avif or .gif",
                crate::scene::shown_path(path)
            ))),
        }
    }

    /// The lossless format for a path's extension: `.webp` gives
    /// [`OutputFormat::WebPLossless`], `.png` is lossless anyway, and JPEG,
    /// which has no lossless mode here, is refused.
    pub fn from_path_lossless(path: &Path) -> Result<OutputFormat, Error> {
        match OutputFormat::from_path(path, 100)? {
            OutputFormat::Jpeg { .. } => Err(Error::Output(format!(
                "{}: JPEG output cannot be lossless (write .png or .webp)",
                crate::scene::shown_path(path)
            ))),
            OutputFormat::WebP { .. } => Ok(OutputFormat::WebPLossless),
            OutputFormat::Avif { .. } => Err(Error::Output(format!(
                "{}: AVIF output is lossy here (write .png or .webp for lossless)",
                crate::scene::shown_path(path)
            ))),
            OutputFormat::Gif => Err(Error::Output(format!(
                "{}: GIF output has 256 colours (write .png or .webp for lossless)",
                crate::scene::shown_path(path)
            ))),
            other => Ok(other),
        }
    }

    /// The format's media type, for a `Content-Type` header.
    ///
    /// ```
    /// use impasto::codec::OutputFormat;
    /// assert_eq!(OutputFormat::Jpeg { quality: 85 }.media_type(), "image/jpeg");
    /// ```
    pub fn media_type(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg { .. } => "image/jpeg",
            OutputFormat::WebP { .. } | OutputFormat::WebPLossless => "image/webp",
            OutputFormat::Avif { .. } => "image/avif",
            OutputFormat::Gif => "image/gif",
        }
    }

    /// Refuses, before anything is rendered, a canvas larger than the
    /// format holds (WebP: 16383 pixels a side).
    pub(crate) fn check_size(self, width: u32, height: u32) -> Result<(), Error> {
        self.check_quality()?;
        match self {
            OutputFormat::WebP { .. } | OutputFormat::WebPLossless => webp_fits(width, height),
            _ => Ok(()),
        }
    }

    /// Refuses a `quality` outside 1..=100 (the formats' scale), which
    /// the encoders would clamp or take as something else, silently.
    pub(crate) fn check_quality(self) -> Result<(), Error> {
        match self {
            OutputFormat::Jpeg { quality }
            | OutputFormat::WebP { quality }
            | OutputFormat::Avif { quality }
                if !(1..=100).contains(&quality) =>
            {
                Err(Error::Output(format!(
                    "{} quality {quality} is outside 1..=100",
                    self.name()
                )))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg { .. } => "jpeg",
            OutputFormat::WebP { .. } | OutputFormat::WebPLossless => "webp",
            OutputFormat::Avif { .. } => "avif",
            OutputFormat::Gif => "gif",
        }
    }
}

/// Encodes straight 8-bit RGBA in `format`.
pub fn encode(img: &RgbaImage, format: OutputFormat) -> Result<Vec<u8>, Error> {
    let err = |message: String| Error::Encode {
        format: format.name(),
        message,
    };
    format.check_quality()?;
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    match format {
        OutputFormat::Png => {
            out.reserve(png_worst_case(w, h));
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            tag_png_srgb(&mut enc);
            // Chosen by measurement (BENCHMARKS.md): the Sub filter with
            // fdeflate's fast mode encodes a 2048x2048 canvas in about the
            // time it takes to composite ten layers of it; adaptive filtering
            // is 40% slower for 0-15% smaller files.
            enc.set_compression(png::Compression::Fast);
            enc.set_filter(png::Filter::Sub);
            let mut writer = enc.write_header().map_err(|e| err(e.to_string()))?;
            // Streamed, row by row into `out`: `write_image_data` held
            // the compressed stream, a stored fallback when that came out
            // larger, and the chunks written (20 bytes a pixel on noise,
            // measured). `out` is given room for the worst case (stored
            // blocks) once, not grown by doubling, then trimmed.
            let mut stream = writer.stream_writer().map_err(|e| err(e.to_string()))?;
            stream
                .write_all(img.as_raw())
                .map_err(|e| err(e.to_string()))?;
            stream.finish().map_err(|e| err(e.to_string()))?;
            writer.finish().map_err(|e| err(e.to_string()))?;
        }
        OutputFormat::Jpeg { quality } => {
            out = jpeg::encode_over_white(img, quality.clamp(1, 100))?;
        }
        OutputFormat::WebP { quality } => {
            out = webp::encode_lossy(img, quality).map_err(|e| err(e.to_string()))?;
        }
        OutputFormat::WebPLossless => {
            out = webp::encode_lossless(img).map_err(|e| err(e.to_string()))?;
        }
        OutputFormat::Avif { quality } => {
            out = avif::encode(img, quality).map_err(err)?;
        }
        OutputFormat::Gif => {
            let still = super::anim::Delay::from_centis(0);
            out = super::gif::encode(&[img], &[still], super::anim::Loop::Times(1)).map_err(err)?;
        }
    }
    out.shrink_to_fit();
    Ok(out)
}

/// [`encode`] for a render under `stop`: refused when `stop` says stop
/// before it starts or when it ends. An AVIF encode, which cannot be
/// interrupted, runs on a thread of its own and is given up on as soon as
/// `stop` says stop, `hold` dropped when it ends ([`super::stoppable`]);
/// `hold` comes back with the bytes.
pub(crate) fn encode_stoppable<H: Send + 'static>(
    img: &RgbaImage,
    format: OutputFormat,
    stop: &crate::cancel::Stop<'_>,
    hold: H,
) -> Result<(Vec<u8>, H), Error> {
    stop.check()?;
    if let OutputFormat::Avif { quality } = format {
        format.check_quality()?;
        let job = avif::job(img, quality, avif::SPEED).map_err(|message| Error::Encode {
            format: "avif",
            message,
        })?;
        return super::stoppable::run("avif", stop, hold, job);
    }
    let bytes = encode(img, format)?;
    stop.check()?;
    Ok((bytes, hold))
}

/// [`flatten_pixels_over_white`] of a whole image, in parallel: the tests'
/// reference (the JPEG encoder flattens strip by strip).
#[cfg(test)]
pub(crate) fn flatten_over_white(img: &RgbaImage) -> Vec<u8> {
    use rayon::prelude::*;
    let src = img.as_raw();
    let mut rgb = vec![0u8; src.len() / 4 * 3];
    // 4096-pixel chunks, in parallel.
    rgb.par_chunks_mut(4096 * 3)
        .zip(src.par_chunks(4096 * 4))
        .for_each(|(out, inp)| flatten_pixels_over_white(inp, out));
    rgb
}

/// Straight RGBA pixels `src` to RGB pixels `out` over opaque white,
/// rounded: `c·a + 255·(1 - a)` (as many pixels as both hold).
pub(crate) fn flatten_pixels_over_white(src: &[u8], out: &mut [u8]) {
    for (p, o) in src.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let a = p[3] as u32;
        if a == 255 {
            // The formula gives c: most pixels of most images take this path.
            o.copy_from_slice(&p[..3]);
            continue;
        }
        let white = 255 * (255 - a) + 127;
        // (x + 1 + (x >> 8)) >> 8 is x / 255 for x < 65535, without a division.
        let div255 = |x: u32| (x + 1 + (x >> 8)) >> 8;
        o[0] = div255(p[0] as u32 * a + white) as u8;
        o[1] = div255(p[1] as u32 * a + white) as u8;
        o[2] = div255(p[2] as u32 * a + white) as u8;
    }
}

/// `Ok` when a `width` x `height` canvas fits WebP's 16383 a side.
pub(crate) fn webp_fits(width: u32, height: u32) -> Result<(), Error> {
    let max = super::webp::MAX_SIDE;
    if width > max || height > max {
        return Err(Error::Output(format!(
            "the canvas is {width}x{height}, larger than WebP's {max}x{max}: write .png, .jpg or .avif"
        )));
    }
    Ok(())
}

/// Refuses, before the render, an output path whose folder does not exist
/// (or is a file) and one that is a folder itself.
pub(crate) fn check_output_dir(path: &Path) -> Result<(), Error> {
    // `out.png/` names a folder, existing or not (it was rendered, then
    // failed to be written: "Not a directory").
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(Error::Output(format!(
            "{}: ends in '/', a folder's name; give a file name",
            crate::scene::shown_path(path)
        )));
    }
    // Where the file is written: a symbolic link's target (its folder
    // must exist too).
    let target = follow_link(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let what = if dir.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        return Err(Error::Output(format!(
            "{}: the folder {} {what}",
            crate::scene::shown_path(path),
            crate::scene::quoted(&dir.display().to_string())
        )));
    }
    if path.is_dir() {
        return Err(Error::Output(format!(
            "{}: is a folder; give a file name",
            crate::scene::shown_path(path)
        )));
    }
    refuse_special(path, &target)
}

/// Refuses an output that exists and is neither a file nor a folder: a
/// device (`/dev/null`), a named pipe or a socket. The output is written to
/// a temporary file renamed over it, which would replace the device node
/// or pipe with a regular file (as root, `/dev/null` itself).
fn refuse_special(path: &Path, target: &Path) -> Result<(), Error> {
    // The path as the kernel follows it too: `/dev/stdout` leads through
    // `/proc/self/fd/1` to a pipe whose link text (`pipe:[...]`) is no path.
    let special = |p: &Path| std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir());
    match special(path) || special(target) {
        true => Err(Error::Output(format!(
            "{}: is not a regular file (a device, pipe or socket): impasto writes files by replacing them, so it refuses (`impasto render -o -` writes to standard output)",
            crate::scene::shown_path(path)
        ))),
        false => Ok(()),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// renamed into place: either the whole file appears or nothing does.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    PendingFile::create(path)?.commit(bytes)
}

/// An output file being made: a temporary file in the output's folder
/// (`.impasto-XXXX.tmp`), registered with [`crate::interrupt`] so that a
/// program stopped by a signal can delete it. Dropped without
/// [`PendingFile::commit`], it deletes itself.
#[derive(Debug)]
pub(crate) struct PendingFile {
    // Field order matters: the file is deleted before it is unregistered,
    // so a clean-up in between finds it gone rather than missing it.
    tmp: tempfile::NamedTempFile,
    registration: crate::interrupt::Registration,
    path: std::path::PathBuf,
}

impl PendingFile {
    /// Creates the temporary file for `path` (which must be in an existing
    /// folder). As writing into the file would: a symbolic link at `path`
    /// is followed (the file it names is replaced, not the link), an
    /// existing file keeps its permissions, and a read-only one is refused.
    pub(crate) fn create(path: &Path) -> Result<PendingFile, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let target = follow_link(path)?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        refuse_special(path, &target)?;
        let existing = std::fs::metadata(&target).ok().filter(|m| m.is_file());
        if existing
            .as_ref()
            .is_some_and(|m| m.permissions().readonly())
        {
            return Err(Error::Output(format!(
                "{}: the file is read-only; it is not replaced",
                crate::scene::shown_path(path)
            )));
        }
        // Declared before the file, so dropped after it: a file whose
        // registration fails (the process stopping) is deleted before the
        // clean-up, which waits for this guard, lets the process exit.
        let _creating = crate::interrupt::creating().map_err(io)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".impasto-").suffix(".tmp");
        // A new file gets the permissions `File::create` would give it (0666
        // less the umask), not a temporary file's owner-only 0600: a poster
        // is usually served by another user (a web server). A file replaced
        // keeps its own (a private 0600 file stays private).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(match &existing {
                Some(m) => m.permissions(),
                None => std::fs::Permissions::from_mode(0o666),
            });
        }
        // A folder the process may not write in is the output path's
        // fault (exit 2), named as such, not the temporary file's.
        let tmp = builder.tempfile_in(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Error::Output(format!(
                    "{}: cannot write in the folder {}: {e}",
                    crate::scene::shown_path(path),
                    crate::scene::quoted(&dir.display().to_string())
                ))
            }
            _ => io(e),
        })?;
        // The mode given at creation passes through the umask (0664 would
        // become 0644): a replaced file's is set again, exactly, less the
        // set-user-ID, set-group-ID and sticky bits (which a write into the
        // file would clear); its owner and group too where the process may
        // (as root), else they are the process's. (A hard link to the old
        // file keeps the old content: the file is replaced, not written.)
        #[cfg(unix)]
        if let Some(m) = &existing {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(m.uid()), Some(m.gid()));
            let mode = std::fs::Permissions::from_mode(m.mode() & 0o777);
            tmp.as_file().set_permissions(mode).map_err(io)?;
        }
        // On failure `tmp` is dropped and deletes itself.
        let registration = crate::interrupt::register(tmp.path()).map_err(io)?;
        Ok(PendingFile {
            tmp,
            registration,
            path: target,
        })
    }

    /// Writes `bytes`, syncs them and renames the file into place.
    pub(crate) fn commit(self, bytes: &[u8]) -> Result<(), Error> {
        let PendingFile {
            mut tmp,
            registration,
            path,
        } = self;
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        tmp.write_all(bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        // On failure the NamedTempFile is dropped and deletes itself.
        registration
            .finish(|| tmp.persist(&path).map_err(|e| e.error))
            .map_err(io)?;
        Ok(())
    }
}

/// `path`, or the file its chain of symbolic links names (the last may not
/// exist yet); more than 40 links, as the kernel allows (a loop), are
/// refused.
fn follow_link(path: &Path) -> Result<std::path::PathBuf, Error> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let is_link = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return Ok(at);
        }
        let Ok(to) = std::fs::read_link(&at) else {
            return Ok(at);
        };
        at = match at.parent() {
            Some(dir) if to.is_relative() => dir.join(to),
            _ => to,
        };
    }
    Err(Error::Output(format!(
        "{}: too many levels of symbolic links (a loop?)",
        crate::scene::shown_path(path)
    )))
}

/// The file a write to `path` replaces, as the file system resolves it,
/// whether or not it exists yet: symbolic links followed (a dangling one to
/// where it points), the deepest existing folder made canonical and the
/// rest appended (`..` taken lexically). Two spellings of one output (or
/// of one file to be written) compare equal.
pub fn output_target(path: &Path) -> std::path::PathBuf {
    let target = follow_link(path).unwrap_or_else(|_| path.to_path_buf());
    if let Ok(real) = target.canonicalize() {
        return real;
    }
    let abs = if target.is_absolute() {
        target
    } else {
        std::env::current_dir()
            .map(|d| d.join(&target))
            .unwrap_or(target)
    };
    for folder in abs.ancestors().skip(1) {
        let Ok(real) = folder.canonicalize() else {
            continue;
        };
        let mut out = real;
        // `folder` is one of `abs`'s ancestors, so a prefix of it.
        for c in abs
            .strip_prefix(folder)
            .unwrap_or(Path::new(""))
            .components()
        {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::Normal(n) => out.push(n),
                _ => {}
            }
        }
        return out;
    }
    abs
}

/// AVIF ([`OutputFormat::Avif`], speed 6) at a chosen rav1e speed, 1
/// (slowest, smallest) to 10 (fastest); for measurements.
#[doc(hidden)]
pub fn encode_avif_at_speed(img: &RgbaImage, quality: u8, speed: u8) -> Result<Vec<u8>, Error> {
    avif::encode_at_speed(img, quality, speed).map_err(|message| Error::Encode {
        format: "avif",
        message,
    })
}

/// Encodes `img` in the format its extension names (JPEG and WebP at
/// `quality`) and writes it atomically.
pub fn save(img: &RgbaImage, path: impl AsRef<Path>, quality: u8) -> Result<(), Error> {
    let path = path.as_ref();
    save_as(img, path, OutputFormat::from_path(path, quality)?)
}

/// Encodes `img` in `format`, whatever `path`'s extension, and writes it
/// atomically.
pub fn save_as(img: &RgbaImage, path: impl AsRef<Path>, format: OutputFormat) -> Result<(), Error> {
    let bytes = encode(img, format)?;
    write_atomic(path.as_ref(), &bytes)
}

/// Bytes of a `w` x `h` RGBA PNG at its largest: every row's filter byte
/// and samples in stored deflate blocks (5 bytes each 65535), the IDAT
/// chunks' framing (12 bytes each 32 KiB as `png` streams them) and the
/// header and end chunks.
/// Tags a PNG being written as sRGB: the engine's pixels are sRGB. The
/// `sRGB` chunk (perceptual, as most encoders write), and with it the
/// `gAMA` and `cHRM` chunks of sRGB's values, which PNG 3 (11.3.2.5)
/// recommends for readers that do not know `sRGB`; 73 bytes in all.
pub(crate) fn tag_png_srgb<W: std::io::Write>(enc: &mut png::Encoder<'_, W>) {
    let scaled = png::ScaledFloat::from_scaled;
    enc.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    // The values the png crate writes beside an sRGB chunk when they are
    // exactly these (PNG 3's, in 1/100000).
    enc.set_source_gamma(scaled(45455));
    enc.set_source_chromaticities(png::SourceChromaticities {
        white: (scaled(31270), scaled(32900)),
        red: (scaled(64000), scaled(33000)),
        green: (scaled(30000), scaled(60000)),
        blue: (scaled(15000), scaled(6000)),
    });
}

fn png_worst_case(w: u32, h: u32) -> usize {
    let raw = (u64::from(w) * 4 + 1) * u64::from(h);
    let framed = raw + raw.div_ceil(65535) * 5 + raw.div_ceil(32 << 10) * 12 + 1024;
    usize::try_from(framed).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quality_outside_1_to_100_is_refused_before_encoding() {
        let img = RgbaImage::new(4, 4);
        for format in [
            OutputFormat::Jpeg { quality: 0 },
            OutputFormat::WebP { quality: 101 },
            OutputFormat::Avif { quality: 200 },
        ] {
            let err = encode(&img, format).unwrap_err();
            assert!(err.is_bad_input(), "{err:?}");
            assert!(err.to_string().contains("outside 1..=100"), "{err}");
            assert!(format.check_size(4, 4).is_err());
        }
        encode(&img, OutputFormat::WebP { quality: 1 }).unwrap();
        encode(&img, OutputFormat::Jpeg { quality: 100 }).unwrap();
    }
}
