//! `impasto render` of a template with `--set NAME=VALUE`, and of a scene
//! or template read from standard input (`-`).

use std::collections::BTreeMap;
use std::path::Path;

use clap::ValueEnum;
use impasto::codec::{AnimationFormat, OutputFormat};
use impasto::scene::quoted;
use impasto::{Error, Limits, MissingGlyphs, Renderer, Scene, ShrinkOnLoad, Template, Warning};

/// `--shrink-on-load`: how far a JPEG drawn smaller than its size is
/// shrunk in the DCT as it is decoded (`render`, `batch`, `serve`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ShrinkArg {
    /// The smallest k/8 that keeps 1.25 times the pixels it is drawn with
    /// (close to sharp's default): fastest, softer on photos.
    #[default]
    Fast,
    /// The smallest k/8 that keeps twice them (as libvips' thumbnail):
    /// close to the full decode.
    Fine,
    /// Every image decoded at full size.
    Off,
}

impl From<ShrinkArg> for ShrinkOnLoad {
    fn from(s: ShrinkArg) -> ShrinkOnLoad {
        match s {
            ShrinkArg::Fast => ShrinkOnLoad::Fast,
            ShrinkArg::Fine => ShrinkOnLoad::Fine,
            ShrinkArg::Off => ShrinkOnLoad::Off,
        }
    }
}

/// `--missing-glyphs`: what characters no font can draw do (`render` and
/// `batch`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingGlyphsArg {
    /// Draw them as empty boxes, with a warning.
    #[default]
    Warn,
    /// Refuse the scene (exit 2; in a batch, the row fails).
    Error,
}

impl From<MissingGlyphsArg> for MissingGlyphs {
    fn from(m: MissingGlyphsArg) -> MissingGlyphs {
        match m {
            MissingGlyphsArg::Warn => MissingGlyphs::Warn,
            MissingGlyphsArg::Error => MissingGlyphs::Error,
        }
    }
}

/// Prints a render's warnings on stderr, one line each.
pub fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("impasto: warning: {}", crate::one_line(&w.to_string()));
    }
}

/// The scene to render: `path` (or standard input for `-`), a plain scene
/// or a template bound to the `--set` values; and the template, which
/// names the variables of a later render error. The parse is bounded by
/// `limits` (`Template::from_json_limited`).
pub fn load(path: &Path, sets: &[String], limits: &Limits) -> Result<(Scene, Template), Error> {
    let template = if path.as_os_str() == "-" {
        let stdin = std::io::stdin().lock();
        Template::from_reader(stdin, impasto::scene::MAX_SCENE_BYTES, "<stdin>", limits)?
    } else {
        Template::from_path_limited(path, limits)?
    };
    let row = values(sets)?;
    template.check_names(row.keys().map(String::as_str))?;
    let scene = template.bind(&row)?;
    Ok((scene, template))
}

/// Whether `path`'s extension is `ext` (ASCII case ignored).
pub fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// `NAME=VALUE` pairs; a name given twice is refused.
fn values(sets: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut row = BTreeMap::new();
    for set in sets {
        let (name, value) = set
            .split_once('=')
            .ok_or_else(|| Error::Options(format!("--set {}: expected NAME=VALUE", quoted(set))))?;
        if row.insert(name.to_owned(), value.to_owned()).is_some() {
            return Err(Error::Options(format!(
                "--set: {} is given twice",
                quoted(name)
            )));
        }
    }
    Ok(row)
}

/// Refuses a folder option (`--assets`, `--templates`, `--font-dir`) that names no
/// folder this process can list, before any work: otherwise every image
/// (or template) would fail, each as the request's or row's fault.
pub fn check_folder(flag: &str, dir: &Path) -> Result<(), Error> {
    let why = match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => "is not a folder".to_string(),
        Ok(_) => match std::fs::read_dir(dir) {
            Ok(_) => return Ok(()),
            Err(e) => format!("cannot be listed: {e}"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be opened: {e}"),
    };
    Err(Error::Options(format!(
        "{flag} {}: {why}",
        impasto::scene::shown_path(dir)
    )))
}

/// Refuses an `output` that is the scene file or an image the scene
/// draws (or that cannot be written: `Renderer::check_output_path`): the
/// render would replace its own input.
pub fn refuse_inputs(
    renderer: &Renderer,
    scene: &Scene,
    scene_file: &Path,
    output: &Path,
) -> Result<(), Error> {
    let same =
        |a: &Path| matches!((a.canonicalize(), output.canonicalize()), (Ok(x), Ok(y)) if x == y);
    if same(scene_file) {
        return Err(Error::Output(format!(
            "{}: is the scene file; writing it would replace the scene",
            impasto::scene::shown_path(output)
        )));
    }
    renderer.check_output_path(scene, output)
}

/// What `impasto render` writes.
pub enum Output {
    /// Every frame (`--animate` or `"animate": true`).
    Animation(AnimationFormat),
    /// The still scene as a one-frame GIF.
    StillGif,
    /// The still scene.
    Still(OutputFormat),
}

/// The output for a file named `named` (its extension says the format;
/// `--format`'s is given as one), with `--quality`, `--lossless` and
/// whether the scene animates.
pub fn output_for(
    named: &Path,
    quality: u8,
    lossless: bool,
    animate: bool,
) -> Result<Output, Error> {
    let gif = has_extension(named, "gif");
    let known = ["png", "jpg", "jpeg", "webp", "avif", "gif"];
    if !known.iter().any(|e| has_extension(named, e)) {
        return Err(Error::Output(format!(
            "{}: unknown output format: the file name must end in .png, .jpg, .jpeg, .webp, .avif or .gif",
            impasto::scene::shown_path(named)
        )));
    }
    if lossless && gif {
        return Err(Error::Output(format!(
            "{}: GIF output has 256 colours, it cannot be lossless (write .png or .webp)",
            impasto::scene::shown_path(named)
        )));
    }
    Ok(if animate {
        Output::Animation(AnimationFormat::from_path(named, quality, lossless)?)
    } else if gif {
        Output::StillGif
    } else if lossless {
        Output::Still(OutputFormat::from_path_lossless(named)?)
    } else {
        Output::Still(OutputFormat::from_path(named, quality)?)
    })
}

/// `impasto render -o - --format F`: the render encoded as `output`,
/// written to standard output, which may not be a terminal. The warnings
/// go to stderr as usual.
pub fn render_to_stdout(
    renderer: &impasto::Renderer,
    scene: &Scene,
    output: Output,
    options: &impasto::RenderOptions,
) -> Result<(), Error> {
    use std::io::{IsTerminal, Write};
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        return Err(Error::Options(
            "-o -: standard output is a terminal; redirect it to a file or a pipe".into(),
        ));
    }
    let assets = impasto::Assets::new();
    let bytes = match output {
        Output::Animation(format) => {
            let (bytes, warnings) =
                renderer.render_animation_encoded_report(scene, &assets, format, options)?;
            print_warnings(&warnings);
            bytes
        }
        Output::StillGif => {
            let still = renderer.render_with(scene, &assets, options)?;
            impasto::RenderedAnimation::still(still).encode(AnimationFormat::Gif)?
        }
        Output::Still(format) => {
            let rendered = renderer.render_encoded(scene, &assets, format, options)?;
            print_warnings(rendered.warnings());
            rendered.encode_with(options)?
        }
    };
    let io = |source| Error::Io {
        path: "<stdout>".into(),
        source,
    };
    // (A standard output closed by the shell, `>&-`, is /dev/null by the
    // time the program runs: Rust's runtime opens it there at start-up, so
    // that write succeeds, as `> /dev/null` does.)
    let mut out = stdout.lock();
    out.write_all(&bytes).map_err(io)?;
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_name_value_pairs_each_given_once() {
        let row = values(&["a=1".into(), "b=x=y".into(), "c=".into()]).unwrap();
        assert_eq!(row["b"], "x=y");
        assert_eq!(row["c"], "");
        assert!(values(&["a".into()]).is_err());
        assert!(values(&["a=1".into(), "a=2".into()]).is_err());
    }
}
