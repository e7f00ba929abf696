//! The folder walk: streams the images found under the input folder, one
//! folder at a time, into a bounded channel, so memory stays that of one
//! folder's listing however many files there are.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

/// What the walk finds.
#[derive(Debug)]
pub enum Found {
    /// An image to render: its path, where its thumbnail goes, and the
    /// other files of the folder whose thumbnail has that name (`a.png`
    /// beside `a.jpg`), in name order: each is tried, in turn, if the ones
    /// before it fail; once one is written the rest are reported.
    Image {
        input: PathBuf,
        output: PathBuf,
        others: Vec<PathBuf>,
    },
    /// A file that is not rendered, and why (reported, counted as failed).
    Failed { path: PathBuf, why: String },
    /// A file in a format impasto does not decode (reported, not a failure).
    Unsupported { path: PathBuf, why: String },
}

/// Extensions of the files rendered (compared without case; the format is
/// read from the file's first bytes): `jfif` and `jpe` are JPEG's others,
/// as Windows browsers save it, `apng` an animated PNG.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "jpe", "jfif", "png", "apng", "webp", "gif"];

/// Extensions of image files impasto does not decode: reported, not failed.
const UNSUPPORTED_EXTENSIONS: &[&str] = &["bmp", "tif", "tiff", "avif", "heic"];

/// Walks `input` depth first, in name order, sending what it finds to
/// `out`. Thumbnails go under `output` at the same relative path with the
/// extension `ext`; `output` itself is not walked when it lies inside
/// `input`. Returns when everything is sent, or when the receiver is gone.
pub fn walk(input: &Path, output: &Path, ext: &str, out: &SyncSender<Found>) {
    let skip = std::fs::canonicalize(output).ok();
    let roots = Roots {
        input: std::fs::canonicalize(input).ok(),
        output: skip.clone(),
    };
    let mut folders = vec![PathBuf::new()];
    while let Some(rel) = folders.pop() {
        let dir = input.join(&rel);
        let mut entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd.filter_map(Result::ok).collect::<Vec<_>>(),
            Err(e) => {
                let why = format!("cannot read the folder: {e}");
                if out.send(Found::Failed { path: dir, why }).is_err() {
                    return;
                }
                continue;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        let mut subfolders = Vec::new();
        // This folder's finds, sent once it is listed: `a.jpg` and `a.png`
        // both make `a.<ext>`, so the second joins the first's `others`.
        let mut finds: Vec<Found> = Vec::new();
        // Each thumbnail's find in `finds`, by its output path.
        let mut by_output: HashMap<PathBuf, usize> = HashMap::new();
        for entry in entries {
            let name = entry.file_name();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let path = entry.path();
                if skip.is_none() || std::fs::canonicalize(&path).ok() != skip {
                    subfolders.push(rel.join(&name));
                }
                continue;
            }
            if kind.is_symlink() && entry.path().is_dir() {
                let why = "a symbolic link to a folder (links are not followed)".to_string();
                let path = entry.path();
                if out.send(Found::Failed { path, why }).is_err() {
                    return;
                }
                continue;
            }
            let found =
                classify(input, &rel, &name, kind.is_file(), output, ext).map(|f| roots.guard(f));
            match found {
                Some(Found::Image { input, output, .. }) => match by_output.get(&output) {
                    Some(&at) => {
                        if let Found::Image { others, .. } = &mut finds[at] {
                            others.push(input);
                        }
                    }
                    None => {
                        by_output.insert(output.clone(), finds.len());
                        finds.push(Found::Image {
                            input,
                            output,
                            others: Vec::new(),
                        });
                    }
                },
                Some(other) => finds.push(other),
                None => {}
            }
        }
        for found in finds {
            if out.send(found).is_err() {
                return;
            }
        }
        // Popped from the end: reversed, so folders are walked in name order.
        folders.extend(subfolders.into_iter().rev());
    }
}

/// How `output` and `input` nest, as the file system resolves them ("lies
/// inside the input folder", "holds the input folder"); `None` when they
/// do not (or are one folder, which is refused before).
pub fn nesting(input: &Path, output: &Path) -> Option<&'static str> {
    let inputs = std::fs::canonicalize(input).ok()?;
    let outputs = std::fs::canonicalize(output).ok()?;
    if outputs == inputs {
        None
    } else if outputs.starts_with(&inputs) {
        Some("lies inside the input folder")
    } else if inputs.starts_with(&outputs) {
        Some("holds the input folder")
    } else {
        None
    }
}

/// The input and output folders, resolved (`None`: not there).
struct Roots {
    input: Option<PathBuf>,
    output: Option<PathBuf>,
}

impl Roots {
    /// `found`, or a failure when its thumbnail would replace a file the
    /// walk takes as an input (under the input folder, not under the
    /// output folder, which is not walked), or would be one the next run
    /// takes: never overwrite a photo, and runs repeat.
    fn guard(&self, found: Found) -> Found {
        let Found::Image {
            input,
            output,
            others,
        } = found
        else {
            return found;
        };
        let Some(inputs) = &self.input else {
            return Found::Image {
                input,
                output,
                others,
            };
        };
        // As the file system resolves it, made or not: a thumbnail not
        // there yet would be taken for a photo by the next run.
        let target = impasto::codec::output_target(&output);
        // The output folder is left out of the walk only when it lies
        // inside the input folder.
        let in_output = self
            .output
            .as_ref()
            .is_some_and(|o| o.starts_with(inputs) && target.starts_with(o));
        if target.starts_with(inputs) && !in_output {
            let what = match output.symlink_metadata().is_ok() {
                true => "would replace an input file",
                false => "would be written inside the input folder, where a later run would take it for a photo",
            };
            let why = format!(
                "its thumbnail {} {what}; choose an output folder outside the input",
                impasto::scene::shown_path(&output)
            );
            return Found::Failed { path: input, why };
        }
        Found::Image {
            input,
            output,
            others,
        }
    }
}

/// What one directory entry that is not a folder is: an image to render,
/// a failure, an unsupported format, or (`None`) not an image at all.
fn classify(
    input: &Path,
    rel: &Path,
    name: &std::ffi::OsStr,
    regular: bool,
    output: &Path,
    ext: &str,
) -> Option<Found> {
    let path = input.join(rel).join(name);
    let lower = Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())?;
    if UNSUPPORTED_EXTENSIONS.contains(&lower.as_str()) {
        let why = format!(
            "skipped: {} files are not supported (impasto decodes PNG, JPEG, WebP and GIF)",
            lower.to_ascii_uppercase()
        );
        return Some(Found::Unsupported { path, why });
    }
    if !IMAGE_EXTENSIONS.contains(&lower.as_str()) {
        return None;
    }
    if !regular {
        let why = "not a regular file (symbolic links are not followed)".to_string();
        return Some(Found::Failed { path, why });
    }
    let out_name = Path::new(name).with_extension(ext).into_os_string();
    let output = output.join(rel).join(&out_name);
    Some(Found::Image {
        input: path,
        output,
        others: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk_all(input: &Path, output: &Path) -> Vec<Found> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (i, o) = (input.to_path_buf(), output.to_path_buf());
        let walker = std::thread::spawn(move || walk(&i, &o, "webp", &tx));
        let found: Vec<Found> = rx.iter().collect();
        walker.join().expect("the walker does not panic");
        found
    }

    #[test]
    fn the_walk_mirrors_folders_in_name_order_and_groups_files_of_one_thumbnail() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let input = dir.path().join("in");
        for (p, bytes) in [
            ("b.JPG", &b"x"[..]),
            ("a.png", b"x"),
            ("a.jpg", b"x"),
            ("notes.txt", b"x"),
            ("anim.gif", b"x"),
            ("scan.tiff", b"x"),
            ("sub/deeper/c.webp", b"x"),
        ] {
            let path = input.join(p);
            std::fs::create_dir_all(path.parent().expect("has a folder")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        let output = input.join("thumbs");
        std::fs::create_dir_all(output.join("old")).expect("mkdir");
        std::fs::write(output.join("old/z.png"), b"x").expect("write");
        let lines: Vec<String> = walk_all(&input, &output)
            .into_iter()
            .map(|f| match f {
                Found::Image {
                    input: i,
                    output: o,
                    others,
                } => {
                    let also: Vec<String> = others
                        .iter()
                        .map(|p| format!(", then {}", p.display()))
                        .collect();
                    format!("{}{} -> {}", i.display(), also.concat(), o.display())
                }
                Found::Failed { path, .. } => format!("failed {}", path.display()),
                Found::Unsupported { path, .. } => format!("unsupported {}", path.display()),
            })
            .collect();
        let (i, o) = (input.display(), output.display());
        assert_eq!(
            lines,
            [
                format!("{i}/a.jpg, then {i}/a.png -> {o}/a.webp"),
                format!("{i}/anim.gif -> {o}/anim.webp"),
                format!("{i}/b.JPG -> {o}/b.webp"),
                format!("unsupported {i}/scan.tiff"),
                format!("{i}/sub/deeper/c.webp -> {o}/sub/deeper/c.webp"),
            ]
        );
    }
}
