//! The render limits as command-line options, shared by `render`, `batch`
//! and `serve` (every limit of `impasto::Limits` explicit and
//! configurable; docs/scene-format.md, Limits). An option not given keeps
//! the command's default.

use clap::Args;
use impasto::Limits;

/// `--max-*` options; each overrides one field of [`Limits`].
#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Largest canvas in pixels, width x height [default: 268435456, 16384²].
    #[arg(long, value_name = "PIXELS", value_parser = at_least_one::<u64>)]
    pub max_canvas_pixels: Option<u64>,
    /// Largest decoded image in pixels; larger files are refused from their
    /// header, before decoding [default: 134217728, 128 megapixels].
    #[arg(long, value_name = "PIXELS", value_parser = at_least_one::<u64>)]
    pub max_image_pixels: Option<u64>,
    /// Largest image file read, in bytes, refused from its size [default:
    /// 268435456 (256 MiB) for render and batch, 67108864 (64 MiB) for serve,
    /// remote images too].
    #[arg(long, value_name = "BYTES", value_parser = at_least_one::<u64>)]
    pub max_image_file_bytes: Option<u64>,
    /// Most layers in a scene [default: 10000].
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    pub max_layers: Option<usize>,
    /// Most stops in one gradient [default: 1024].
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    pub max_gradient_stops: Option<usize>,
    /// Most characters in one text layer [default: 100000].
    #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
    pub max_text_chars: Option<usize>,
    /// Most work font fallback may take for one text layer: each word's (to
    /// the next line-break opportunity) characters times those the layer's
    /// font lacks, summed, which laying it out takes time in proportion to
    /// [default: 16777216].
    #[arg(long, value_name = "N", value_parser = at_least_one::<u64>)]
    pub max_text_fallback_work: Option<u64>,
    /// Most frames in an animated source or output [default: 1000].
    #[arg(long, value_name = "N", value_parser = at_least_one::<u32>)]
    pub max_animation_frames: Option<u32>,
    /// Most pixels of all the frames of one animation together, frames x
    /// width x height [default: 134217728, 128 megapixels].
    #[arg(long, value_name = "PIXELS", value_parser = at_least_one::<u64>)]
    pub max_animation_pixels: Option<u64>,
}

/// A limit's value: a whole number of at least 1. Zero would refuse every
/// scene, where many tools read it as "no limit"; impasto has no unlimited
/// value (a large one is). Other values are read as every whole-number
/// option is ([`crate::numbers::whole`]).
pub fn at_least_one<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + From<u8>,
    T: Largest + 'static,
{
    match s.parse::<T>() {
        Ok(n) if n < T::from(1) => Err("0 would refuse everything it limits (it does not mean \"no limit\": give a large value)".into()),
        _ => crate::numbers::whole(T::from(1)..=T::LARGEST)(s),
    }
}

/// The largest value of a limit's type.
pub trait Largest {
    const LARGEST: Self;
}

macro_rules! largest {
    ($($t:ty),*) => {$(
        impl Largest for $t {
            const LARGEST: Self = <$t>::MAX;
        }
    )*};
}
largest!(u32, u64, usize);

impl LimitArgs {
    /// `base` with every option given put in.
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            max_canvas_pixels: self.max_canvas_pixels.unwrap_or(base.max_canvas_pixels),
            max_image_pixels: self.max_image_pixels.unwrap_or(base.max_image_pixels),
            max_image_file_bytes: self
                .max_image_file_bytes
                .unwrap_or(base.max_image_file_bytes),
            max_layers: self.max_layers.unwrap_or(base.max_layers),
            max_gradient_stops: self.max_gradient_stops.unwrap_or(base.max_gradient_stops),
            max_text_chars: self.max_text_chars.unwrap_or(base.max_text_chars),
            max_text_fallback_work: self
                .max_text_fallback_work
                .unwrap_or(base.max_text_fallback_work),
            max_animation_frames: self
                .max_animation_frames
                .unwrap_or(base.max_animation_frames),
            max_animation_pixels: self
                .max_animation_pixels
                .unwrap_or(base.max_animation_pixels),
            max_render_bytes: base.max_render_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_in_the_help_are_the_librarys() {
        let d = Limits::default();
        assert_eq!(d.max_canvas_pixels, 268_435_456);
        assert_eq!(d.max_image_pixels, 134_217_728);
        assert_eq!(d.max_image_file_bytes, 268_435_456);
        assert_eq!(
            (d.max_layers, d.max_gradient_stops, d.max_text_chars),
            (10_000, 1024, 100_000)
        );
        assert_eq!(d.max_text_fallback_work, 16_777_216);
        assert_eq!(
            (d.max_animation_frames, d.max_animation_pixels),
            (1000, 134_217_728)
        );
        // Nothing given: the base as it is.
        assert_eq!(LimitArgs::default().apply(d), d);
        let one = LimitArgs {
            max_layers: Some(3),
            ..LimitArgs::default()
        };
        assert_eq!(one.apply(d).max_layers, 3);
        // Too large is said so, not "not a whole number".
        let e = at_least_one::<u64>("99999999999999999999999").unwrap_err();
        assert!(
            e.contains("is too large (the largest is 18446744073709551615)"),
            "{e}"
        );
        let e = at_least_one::<u64>("12x").unwrap_err();
        assert!(e.contains("is not a whole number"), "{e}");
    }
}
