//! Image inputs: a scene's `src` resolved to a file inside the asset root
//! (never outside it, lexically or through a symbolic link) or read as a
//! `data:` URL ([`crate::data_url`]), and one frame of an animated input
//! decoded. Used by [`crate::assets`] for a render and by
//! [`crate::animation`] for a timeline.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::asset_cache::Identity;
use crate::codec;
use crate::data_url::{self, DataImage};
use crate::error::Error;
use crate::renderer::Limits;
use crate::scene::{LayerKind, Scene};
use crate::shrink::SourceImage;
use crate::Assets;

/// Resolves `src` under `root`, refusing absolute paths and paths that lead
/// outside the root (lexically, or through a symbolic link).
/// The scheme of `src` when it reads as a URL (`data:`, `https:`,
/// `ftp:`): letters, digits, `+`, `-`, `.` from a letter, then `:`; two
/// characters at least, so that a Windows drive (`C:`) is none.
fn url_scheme(src: &str) -> Option<&str> {
    let (scheme, _) = src.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && scheme.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// Why a `src` that is a URL, and no file, is not read: image paths are
/// files under the asset root, and a `data:` URL holds its data after a
/// `,`. A `data:` URL (many kilobytes) is shown by its start only.
fn not_a_file_url(src: &str, scheme: &str) -> String {
    let shown = data_url::shown(src);
    match scheme.to_ascii_lowercase().as_str() {
        "data" => format!(
            "{shown} is no file under the asset folder, and no data: URL: a data: URL has a ',' before its data (data:image/png;base64,DATA)"
        ),
        "http" | "https" => format!(
            "{shown} is a URL: image paths are files under the asset folder or data: URLs (`impasto serve --allow-host HOST` fetches http(s) images)"
        ),
        _ => format!("{shown} is a {scheme}: URL: image paths are files under the asset folder or data: URLs"),
    }
}

/// An image layer's input: a file under the asset root, or the bytes of a
/// `data:` URL.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// The file's canonical path.
    File(PathBuf),
    Data(Arc<DataImage>),
}

impl Input {
    /// What names the input's content among a scene's inputs and in the
    /// caches: the file's canonical path, or the data's digest
    /// (`data:sha256,...`).
    pub(crate) fn key(&self) -> &Path {
        match self {
            Input::File(path) => path,
            Input::Data(data) => &data.key,
        }
    }

    /// The input's length in bytes (0 when a file's cannot be read), and
    /// its identity for the decoded-image cache (`None`: a file whose
    /// metadata cannot be read, which is then not kept).
    pub(crate) fn identity(&self) -> (u64, Option<Identity>) {
        match self {
            Input::File(path) => match std::fs::metadata(path) {
                Ok(meta) => (meta.len(), Some(Identity::of(&meta))),
                Err(_) => (0, None),
            },
            Input::Data(data) => {
                let len = data.bytes.len() as u64;
                (len, Some(Identity::of_bytes(len)))
            }
        }
    }

    /// The input's bytes (a file's read whole, at most `max_bytes`), after
    /// its format is known from the first of them.
    pub(crate) fn read(
        &self,
        max_bytes: u64,
    ) -> Result<(image::ImageFormat, Cow<'_, [u8]>), codec::DecodeError> {
        match self {
            Input::File(path) => {
                codec::read_image_file(path, max_bytes).map(|(f, b)| (f, Cow::Owned(b)))
            }
            Input::Data(data) => {
                let format =
                    image::guess_format(&data.bytes).map_err(|_| Input::not_an_image(data))?;
                Ok((format, Cow::Borrowed(&data.bytes)))
            }
        }
    }

    /// What the input's header says ([`codec::probe_header`]).
    pub(crate) fn probe_header(
        &self,
        max_pixels: u64,
    ) -> Result<codec::Probed, codec::DecodeError> {
        match self {
            Input::File(path) => codec::probe_header(path, max_pixels),
            Input::Data(data) => codec::probe_bytes(&data.bytes, max_pixels).map_err(|e| {
                match image::guess_format(&data.bytes) {
                    Err(_) => Input::not_an_image(data),
                    Ok(_) => e,
                }
            }),
        }
    }

    /// `message`, about the input's bytes not decoding, with what may
    /// explain it ([`DataImage::explain`]).
    pub(crate) fn explain(&self, message: String) -> String {
        match self {
            Input::File(_) => message,
            Input::Data(data) => data.explain(message),
        }
    }

    /// A `data:` URL's bytes that are no image impasto reads, with the
    /// media type it declares (`image/svg+xml` is the usual one).
    fn not_an_image(data: &DataImage) -> codec::DecodeError {
        let plain = codec::not_an_image(&data.bytes);
        if data.media_type.is_empty() {
            return plain;
        }
        codec::DecodeError(format!(
            "{} (the data: URL says {})",
            plain.0,
            data.shown_media_type()
        ))
    }
}

/// The input `src` names: a `data:` URL's bytes (at most `max_bytes`,
/// `max_image_file_bytes`), or the file under `root` ([`resolve_asset`]).
pub(crate) fn resolve_input(root: &Path, src: &str, max_bytes: u64) -> Result<Input, String> {
    if data_url::is_data_url(src) {
        let data = data_url::parse(src, max_bytes)
            .map_err(|why| format!("{}: {why}", data_url::shown(src)))?;
        return Ok(Input::Data(Arc::new(data)));
    }
    resolve_asset(root, src).map(Input::File)
}

/// Whether `path`, which does not resolve (missing, or a link to nothing),
/// leads out of `canon_root`: through a link to a folder outside, or as a
/// link (followed as far as links go, at most 40) to somewhere outside.
/// Judged by the deepest folder on the way that exists.
fn leads_outside(path: &Path, canon_root: &Path) -> bool {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&path) else {
            break;
        };
        path = match path.parent() {
            Some(dir) => dir.join(target),
            None => target,
        };
    }
    path.ancestors()
        .skip(1)
        .find_map(|a| a.canonicalize().ok())
        .is_some_and(|a| !a.starts_with(canon_root))
}

pub(crate) fn resolve_asset(root: &Path, src: &str) -> Result<PathBuf, String> {
    let shown = crate::scene::quoted(src);
    let rel = Path::new(src);
    if rel.is_absolute() || rel.has_root() || src.starts_with('/') || src.starts_with('\\') {
        return Err(format!(
            "{shown} is an absolute path; image paths must be relative to the asset root"
        ));
    }
    let mut depth: i64 = 0;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!(
                        "{shown} resolves outside the asset root (a '..' climbs above it; write the path from the root)"
                    ));
                }
            }
            Component::Prefix(_) | Component::RootDir => {
                return Err(format!(
                    "{shown} is an absolute path; image paths must be relative to the asset root"
                ))
            }
        }
    }
    let joined = root.join(rel);
    let canon_root = root.canonicalize().map_err(|e| {
        let root = crate::scene::quoted(&root.display().to_string()).to_string();
        format!("asset root {root} cannot be opened: {e}")
    })?;
    let canon = joined.canonicalize().map_err(|e| {
        // A missing file reached through a link out of the root is said
        // to be outside, as an existing one is: the two answers would
        // otherwise tell a client which files exist outside it.
        let outside = leads_outside(&joined, &canon_root);
        if outside {
            return format!("{shown} resolves outside the asset root (through a symbolic link)");
        }
        match url_scheme(src) {
            // No such file (or a name too long to be one), and it reads as a
            // URL: said so (a file may be named "data:x", so only when none
            // is).
            Some(scheme) if e.kind() != std::io::ErrorKind::PermissionDenied => {
                not_a_file_url(src, scheme)
            }
            _ => format!("{shown} cannot be read: {e}"),
        }
    })?;
    if !canon.starts_with(&canon_root) {
        return Err(format!(
            "{shown} resolves outside the asset root (through a symbolic link)"
        ));
    }
    if !canon.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    Ok(canon)
}

/// The files the visible image layers of `scene` draw, by layer index,
/// resolved under `root` (canonical paths; a file not there yet, where it
/// would be); layers whose `src` is in `assets` (in memory) or that the
/// render refuses (outside the root) are left out.
pub(crate) fn image_inputs(scene: &Scene, root: &Path, assets: &Assets) -> Vec<(usize, PathBuf)> {
    let Ok(canon_root) = root.canonicalize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (index, layer) in scene.layers.iter().enumerate() {
        let LayerKind::Image(il) = &layer.kind else {
            continue;
        };
        // A data: URL is no file.
        if !layer.visible || assets.holds(&il.src) || data_url::is_data_url(&il.src) {
            continue;
        }
        match resolve_asset(root, &il.src) {
            Ok(path) => out.push((index, path)),
            // Not there yet (or a link to nothing yet): where it would be.
            Err(_) if !Path::new(&il.src).has_root() => {
                let at = codec::output_target(&canon_root.join(&il.src));
                if at.starts_with(&canon_root) && !at.is_dir() {
                    out.push((index, at));
                }
            }
            Err(_) => {}
        }
    }
    out
}

/// Refuses an output `path` that is a file one of `scene`'s image layers
/// draws: the render would replace its own input (and a batch's later rows
/// would draw the output). Compared as resolved paths: the output is
/// renamed over the path's target, so a hard link to an input is no clash.
pub(crate) fn refuse_own_input(
    scene: &Scene,
    root: &Path,
    assets: &Assets,
    path: &Path,
) -> Result<(), Error> {
    let Ok(out) = path.canonicalize() else {
        return Ok(());
    };
    match image_inputs(scene, root, assets)
        .into_iter()
        .find(|(_, input)| *input == out)
    {
        Some((index, _)) => Err(Error::Output(format!(
            "{}: is the image that layer {index} draws; writing it would replace the scene's own input",
            crate::scene::shown_path(path)
        ))),
        None => Ok(()),
    }
}

/// Frame `frame` of the image `input`, composited as browsers show it
/// (not kept in the decoded-image cache); a failure names its field.
/// `halt` is asked between frames (see [`codec::Halt`]).
pub(crate) fn decode_frame(
    input: &Input,
    frame: u32,
    limits: &Limits,
    halt: codec::Halt<'_>,
) -> Result<SourceImage, (&'static str, String)> {
    let (_, bytes) = input
        .read(limits.max_image_file_bytes)
        .map_err(|e| ("src", input.explain(e.0)))?;
    let info =
        codec::probe_for_one_frame(&bytes, limits).map_err(|e| ("src", input.explain(e.0)))?;
    if frame >= info.frames {
        // A GIF without its trailer byte is cut short: it held more.
        let cut = match bytes.starts_with(b"GIF8") && !bytes.ends_with(b";") {
            true => "; the file is cut short, and the frames after the cut are lost",
            false => "",
        };
        return Err((
            "frame",
            format!(
                "frame {frame} does not exist: the image has {} frame{} (counted from 0){cut}",
                info.frames,
                if info.frames == 1 { "" } else { "s" }
            ),
        ));
    }
    let anim = codec::decode_frame_halting(&bytes, limits, frame as usize, halt)
        .map_err(|e| ("src", input.explain(e.0)))?;
    // The headers may promise more frames than the file holds.
    let (found, notes) = (anim.frames.len(), anim.notes);
    let picked = anim.frames.into_iter().nth(frame as usize).ok_or_else(|| {
        (
            "frame",
            format!(
                "frame {frame} does not exist: the file holds {found} whole frame{} (counted from 0), fewer than its headers say (the file is cut short, or its headers are wrong)",
                if found == 1 { "" } else { "s" }
            ),
        )
    })?;
    Ok(SourceImage {
        notes,
        ..SourceImage::full(picked.image, None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_src_that_is_a_url_and_no_file_is_said_to_be_one_and_a_data_url_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let resolve = |src: &str| resolve_input(dir.path(), src, 1 << 20);
        // Its comma missing: no data: URL, and no file.
        let long = format!("data:image/png;base64{}", "A".repeat(5000));
        let e = resolve(&long).unwrap_err();
        assert!(
            e.starts_with(
                "\"data:image/png;base64AAAAAAAAAAAAAAAAAAA\"... (5021 bytes) is no file under the asset folder, and no data: URL"
            ),
            "{e}"
        );
        let with_comma = long.replacen("base64", "base64,", 1);
        assert!(matches!(resolve(&with_comma), Ok(Input::Data(d)) if d.bytes.len() == 3750));
        let e = resolve("ftp://host/a.png").unwrap_err();
        assert!(e.contains("is a ftp: URL"), "{e}");
        let e = resolve("https://host/a.png").unwrap_err();
        assert!(e.contains("--allow-host"), "{e}");
        // A file may be named so; a drive letter is no scheme.
        std::fs::write(dir.path().join("data:x.png"), b"x").unwrap();
        assert!(matches!(resolve("data:x.png"), Ok(Input::File(_))));
        assert_eq!(url_scheme("C:/a.png"), None);
        let e = resolve("missing.png").unwrap_err();
        assert!(e.contains("cannot be read"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_root_says_outside_whether_the_file_there_exists_or_not() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("there.png"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        let said = |src: &str| resolve_asset(root.path(), src).unwrap_err();
        let (there, missing) = (said("out/there.png"), said("out/missing.png"));
        assert!(there.ends_with("resolves outside the asset root (through a symbolic link)"));
        assert_eq!(
            there.replace("there.png", "X"),
            missing.replace("missing.png", "X"),
            "the answers tell which file exists"
        );
        // A link to nothing outside, absolute or relative: outside too.
        let gone = outside.path().join("gone.png");
        std::os::unix::fs::symlink(&gone, root.path().join("abs.png")).unwrap();
        let up = format!(
            "../{}/gone.png",
            outside.path().file_name().unwrap().to_str().unwrap()
        );
        std::os::unix::fs::symlink(up, root.path().join("rel.png")).unwrap();
        for link in ["abs.png", "rel.png"] {
            assert!(
                said(link).contains("resolves outside the asset root"),
                "{link}: {}",
                said(link)
            );
        }
        // Missing inside the root (or a link to nothing inside): still
        // "cannot be read".
        std::os::unix::fs::symlink("nothing.png", root.path().join("in.png")).unwrap();
        assert!(said("in/missing.png").contains("cannot be read"));
        assert!(
            said("in.png").contains("cannot be read"),
            "{}",
            said("in.png")
        );
    }

    #[test]
    fn asset_paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.png"), b"x").unwrap();
        assert!(resolve_asset(dir.path(), "sub/a.png").is_ok());
        assert!(resolve_asset(dir.path(), "sub/../sub/a.png").is_ok());
        assert!(resolve_asset(dir.path(), "../a.png")
            .unwrap_err()
            .contains("outside the asset root"));
        assert!(resolve_asset(dir.path(), "sub/../../a.png")
            .unwrap_err()
            .contains("outside"));
        assert!(resolve_asset(dir.path(), "/etc/passwd")
            .unwrap_err()
            .contains("absolute"));
        assert!(resolve_asset(dir.path(), "missing.png")
            .unwrap_err()
            .contains("cannot be read"));
        assert!(resolve_asset(dir.path(), "sub")
            .unwrap_err()
            .contains("not a file"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.png"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.png"),
            dir.path().join("link.png"),
        )
        .unwrap();
        assert!(resolve_asset(dir.path(), "link.png")
            .unwrap_err()
            .contains("outside"));
    }
}
