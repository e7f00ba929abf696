//! Image files under the asset root: a scene's `src` resolved to a file
//! inside the root (never outside it, lexically or through a symbolic
//! link), and one frame of an animated file decoded. Used by
//! [`crate::assets`] for a render and by [`crate::animation`] for a
//! timeline.

use std::path::{Component, Path, PathBuf};

use crate::codec;
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
/// files under the asset root. A `data:` URL (many kilobytes) is shown by
/// its start only.
fn not_a_file_url(src: &str, scheme: &str) -> String {
    let start: String = src.chars().take(40).collect();
    let shown = match start.len() < src.len() {
        true => format!("{}... ({} bytes)", crate::scene::quoted(&start), src.len()),
        false => crate::scene::quoted(src).to_string(),
    };
    match scheme.to_ascii_lowercase().as_str() {
        "data" => format!(
            "{shown} is a data: URL, which is not read: put the image in a file under the asset folder (in code, Assets::insert registers pixels by name)"
        ),
        "http" | "https" => format!(
            "{shown} is a URL: image paths are files under the asset folder (`impasto serve --allow-host HOST` fetches http(s) images)"
        ),
        _ => format!("{shown} is a {scheme}: URL: image paths are files under the asset folder"),
    }
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
                    return Err(format!("{shown} resolves outside the asset root"));
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
    let canon = joined.canonicalize().map_err(|e| match url_scheme(src) {
        // No such file, and it reads as a URL: said so (a file may be
        // named "data:x", so only when none is).
        Some(scheme) if e.kind() == std::io::ErrorKind::NotFound => not_a_file_url(src, scheme),
        _ => format!("{shown} cannot be read: {e}"),
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
        if !layer.visible || assets.get(&il.src).is_some() {
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

/// Frame `frame` of the image file at `path`, composited as browsers show
/// it (not kept in the decoded-image cache); a failure names its field.
/// `halt` is asked between frames (see [`codec::Halt`]).
pub(crate) fn decode_frame(
    path: &Path,
    frame: u32,
    limits: &Limits,
    halt: codec::Halt<'_>,
) -> Result<SourceImage, (&'static str, String)> {
    let (_, bytes) =
        codec::read_image_file(path, limits.max_image_file_bytes).map_err(|e| ("src", e.0))?;
    let info = codec::probe_animation(&bytes, limits).map_err(|e| ("src", e.0))?;
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
    let anim = codec::decode_animation_halting(&bytes, limits, Some(frame as usize), halt)
        .map_err(|e| ("src", e.0))?;
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
    fn a_src_that_is_a_url_and_no_file_is_said_to_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("data:image/png;base64,{}", "A".repeat(5000));
        let e = resolve_asset(dir.path(), &long).unwrap_err();
        assert!(
            e.starts_with(
                "\"data:image/png;base64,AAAAAAAAAAAAAAAAAA\"... (5022 bytes) is a data: URL"
            ),
            "{e}"
        );
        let e = resolve_asset(dir.path(), "ftp://host/a.png").unwrap_err();
        assert!(e.contains("is a ftp: URL"), "{e}");
        let e = resolve_asset(dir.path(), "https://host/a.png").unwrap_err();
        assert!(e.contains("--allow-host"), "{e}");
        // A file may be named so; a drive letter is no scheme.
        std::fs::write(dir.path().join("data:x.png"), b"x").unwrap();
        assert!(resolve_asset(dir.path(), "data:x.png").is_ok());
        assert_eq!(url_scheme("C:/a.png"), None);
        let e = resolve_asset(dir.path(), "missing.png").unwrap_err();
        assert!(e.contains("cannot be read"), "{e}");
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
