//! The command line: what to render, how large, in which format, on which
//! backend, with how many workers.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Renders every PNG, JPEG, WebP and GIF image under INPUT_DIR (recursively)
/// to a thumbnail under OUTPUT_DIR (not INPUT_DIR itself), mirroring the
/// folders.
#[derive(Debug, Parser)]
#[command(name = "thumbnails")]
pub struct Args {
    /// The folder of images, walked recursively.
    pub input_dir: PathBuf,
    /// Where the thumbnails go (created if missing; removed at the end if
    /// the run made it and wrote nothing there).
    pub output_dir: PathBuf,
    /// The thumbnail's size in pixels: its longer side (contain) or its
    /// side (cover).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=16384))]
    pub size: u32,
    /// contain: the whole image, its longer side SIZE; cover: a SIZE x SIZE
    /// square cropped from the centre.
    #[arg(long, value_enum, default_value_t = FitArg::Contain)]
    pub fit: FitArg,
    /// Never enlarge an image smaller than SIZE (vipsthumbnail's `SIZE>`);
    /// by default, as vipsthumbnail, small images are enlarged. With cover,
    /// a side shorter than SIZE is kept (300 x 200 at 256: 256 x 200).
    #[arg(long)]
    pub no_upscale: bool,
    /// The thumbnails' format; their extension is replaced by its own.
    #[arg(long, value_enum, default_value_t = FormatArg::Jpg)]
    pub format: FormatArg,
    /// JPEG quality, 1 to 100 (WebP and PNG thumbnails are lossless).
    #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// auto: a hardware GPU when there is one, else the CPU.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Images rendered at once (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Most memory one image's render may need, in bytes (an image over it
    /// fails); the run's peak is at most --jobs times this.
    #[arg(long, default_value_t = impasto::Limits::default().max_render_bytes, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_render_bytes: u64,
    /// How far a JPEG is shrunk in the DCT as it is decoded (k/8, k from 1
    /// to 6), as for `impasto render`: fast (1.25 times the pixels drawn),
    /// fine (twice them: closer to the full decode), off (full size).
    #[arg(long, value_enum, default_value_t = ShrinkArg::Fast)]
    pub shrink_on_load: ShrinkArg,
}

/// `--shrink-on-load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShrinkArg {
    /// The smallest k/8 that keeps 1.25 times the pixels it is drawn with
    /// (close to sharp's default): fastest, softer on photos.
    Fast,
    /// The smallest k/8 that keeps twice them (as libvips' thumbnail):
    /// close to the full decode.
    Fine,
    /// Full size.
    Off,
}

impl ShrinkArg {
    /// The library's mode.
    pub fn mode(self) -> impasto::ShrinkOnLoad {
        match self {
            ShrinkArg::Fast => impasto::ShrinkOnLoad::Fast,
            ShrinkArg::Fine => impasto::ShrinkOnLoad::Fine,
            ShrinkArg::Off => impasto::ShrinkOnLoad::Off,
        }
    }
}

/// `--fit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitArg {
    /// The whole image, its longer side `--size`.
    Contain,
    /// A `--size` square, cropped from the centre.
    Cover,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// JPEG (transparency flattened over white).
    Jpg,
    /// Lossless WebP.
    Webp,
    /// PNG with alpha.
    Png,
}

impl FormatArg {
    /// The extension thumbnails get.
    pub fn extension(self) -> &'static str {
        match self {
            FormatArg::Jpg => "jpg",
            FormatArg::Webp => "webp",
            FormatArg::Png => "png",
        }
    }
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// A hardware GPU when there is one, else the CPU.
    Auto,
    /// The CPU backend.
    Cpu,
    /// The GPU backend (any adapter, software ones included).
    Gpu,
}

impl BackendArg {
    /// The library's backend.
    pub fn backend(self) -> impasto::Backend {
        match self {
            BackendArg::Auto => impasto::Backend::Auto,
            BackendArg::Cpu => impasto::Backend::Cpu,
            BackendArg::Gpu => impasto::Backend::Gpu,
        }
    }
}

impl Args {
    /// Parses the arguments (the first is the program's name); `Err` holds
    /// clap's message (usage, help or version included).
    pub fn parse_from_os(args: impl IntoIterator<Item = OsString>) -> Result<Args, clap::Error> {
        Args::try_parse_from(args)
    }

    /// How many images render at once.
    pub fn workers(&self) -> usize {
        match self.jobs {
            Some(n) => n as usize,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The thumbnail's canvas for an image of `width` x `height` (oriented)
/// pixels, and whether the image covers it (cropped) or fills it exactly.
pub fn thumbnail_size(args: &Args, width: u32, height: u32) -> (u32, u32) {
    let size = args.size;
    match args.fit {
        // Not enlarged, an image is cropped to the square, or to as much
        // of it as the image has: 300 x 200 at 256 gives 256 x 200, as
        // vipsthumbnail's `256x256>` with a crop does.
        FitArg::Cover if args.no_upscale => (size.min(width), size.min(height)),
        FitArg::Cover => (size, size),
        FitArg::Contain => {
            let longer = width.max(height);
            if args.no_upscale && longer <= size {
                return (width, height);
            }
            let scale = size as f64 / longer as f64;
            let side = |n: u32| ((n as f64 * scale).round() as u32).clamp(1, size);
            (side(width), side(height))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut all = vec!["thumbnails", "in", "out"];
        all.extend_from_slice(extra);
        Args::parse_from_os(all.into_iter().map(OsString::from)).expect("valid arguments")
    }

    #[test]
    fn contain_makes_the_longer_side_the_size_and_keeps_the_shape() {
        let a = args(&[]);
        assert_eq!(thumbnail_size(&a, 400, 600), (171, 256));
        assert_eq!(thumbnail_size(&a, 6000, 4000), (256, 171));
        assert_eq!(thumbnail_size(&a, 10_000, 3), (256, 1));
        // Small images are enlarged, as vipsthumbnail does by default.
        assert_eq!(thumbnail_size(&a, 64, 32), (256, 128));
        let a = args(&["--no-upscale"]);
        assert_eq!(thumbnail_size(&a, 64, 32), (64, 32));
        assert_eq!(thumbnail_size(&a, 512, 300), (256, 150));
    }

    #[test]
    fn cover_makes_a_square_of_the_size() {
        let a = args(&["--fit", "cover", "--size", "100"]);
        assert_eq!(thumbnail_size(&a, 400, 600), (100, 100));
        assert_eq!(thumbnail_size(&a, 30, 60), (100, 100));
        let a = args(&["--fit", "cover", "--size", "100", "--no-upscale"]);
        assert_eq!(thumbnail_size(&a, 30, 60), (30, 60));
        assert_eq!(thumbnail_size(&a, 300, 60), (100, 60));
        assert_eq!(thumbnail_size(&a, 1, 1000), (1, 100));
        assert_eq!(thumbnail_size(&a, 400, 600), (100, 100));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for bad in [
            &["--size", "0"][..],
            &["--quality", "101"],
            &["--jobs", "0"],
            &["--fit", "stretch"],
            &["--format", "gif"],
        ] {
            let mut all = vec!["thumbnails", "in", "out"];
            all.extend_from_slice(bad);
            assert!(
                Args::parse_from_os(all.into_iter().map(OsString::from)).is_err(),
                "{bad:?}"
            );
        }
    }
}
