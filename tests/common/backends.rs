//! Every backend a behaviour test runs on, and the tolerance each one's
//! output is held to. After vello's tests: a test is written once and run on
//! every backend, and the tolerance of each backend is stated here, once,
//! with its reason.
//!
//! - `cpu`: always present.
//! - `gpu`: the wgpu backend on whatever adapter wgpu finds (lavapipe in CI).
//!   Under `CI=true` a missing adapter fails the test that asked for it;
//!   elsewhere the test says on stderr that it ran on the CPU only.

use std::sync::OnceLock;

use image::RgbaImage;
use impasto::{Backend, Renderer};

/// How far a backend's render may be from an expected image (a golden
/// image or another backend's render).
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// Compare premultiplied channels (`true`) or straight-alpha ones.
    pub premultiplied: bool,
    /// No channel may differ by more than this (0..=255 units).
    pub max: f64,
    /// Channels differing by more than `loose` ...
    pub loose: f64,
    /// ... may be at most this share of all channels.
    pub share: f64,
}

/// The CPU backend against golden images it made itself: every channel
/// within 1 and at most 0.1% of channels different at all. The backend is
/// deterministic for one instruction set, but its AVX2/FMA kernels and its
/// portable kernels may round the last bit of a float differently (a fused
/// multiply-add rounds once), which can move an 8-bit result by one.
pub const CPU: Tolerance = Tolerance {
    premultiplied: false,
    max: 1.0,
    loose: 0.0,
    share: 0.001,
};

/// The GPU backend against the CPU's output (or golden images made by the
/// CPU): premultiplied channels within 2 everywhere and within 1 for 99.9%
/// of them. The two backends run the same formulas and tables and differ
/// only in float rounding: the GPU evaluates geometry in f32 where the CPU
/// uses f64, keeps resampled images in f32 where the CPU keeps 16-bit, and
/// contracts multiply-adds differently; each can move a rounding to 8 bits
/// by one, and two such moves can meet in one pixel.
pub const GPU: Tolerance = Tolerance {
    premultiplied: true,
    max: 2.0,
    loose: 1.0,
    share: 0.001,
};

/// The GPU backend on text, against the CPU: premultiplied channels within
/// 2 for 99.5% of them, with no bound on the rest. glyphon draws the same
/// glyph images at the same pixel positions, but into a 16-bit float
/// texture, with the text colour converted to linear light in f32 where the
/// CPU uses its 8-bit table, and it samples the glyph atlas with its own
/// arithmetic: a few edge pixels of a glyph land a little further off.
pub const GPU_TEXT: Tolerance = Tolerance {
    premultiplied: true,
    max: 255.0,
    loose: 2.0,
    share: 0.005,
};

/// One backend under test.
pub struct TestBackend {
    /// `cpu` or `gpu`, for messages and failure image names.
    pub name: &'static str,
    /// A renderer on this backend, with the system's fonts off (bundled
    /// Inter only) so that text does not depend on the machine.
    pub renderer: Renderer,
    /// What its renders are held to.
    pub tolerance: Tolerance,
    /// What its renders of text are held to.
    pub text_tolerance: Tolerance,
}

/// The GPU renderer of this test binary (one device for all its tests), or
/// `None` without an adapter; under `CI=true` no adapter is a failure.
pub fn gpu_renderer() -> Option<&'static Renderer> {
    static GPU_RENDERER: OnceLock<Option<Renderer>> = OnceLock::new();
    GPU_RENDERER
        .get_or_init(|| {
            let r = opened_gpu(Renderer::new(Backend::Gpu))?;
            eprintln!("GPU backend under test: {:?}", r.adapter());
            Some(r)
        })
        .as_ref()
}

/// Every backend with the system's fonts on, when the font `wanted` (a part
/// of a family name) is installed; under `CI=true` it must be (`.ci/run`
/// installs it), elsewhere the test says it skipped.
pub fn with_system_font(wanted: &str, package: &str) -> Vec<(&'static str, Renderer)> {
    let cpu = Renderer::new(Backend::Cpu).unwrap();
    let found = cpu
        .font_families()
        .unwrap()
        .iter()
        .any(|f| f.contains(wanted));
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no {wanted} font found: CI must install {package}"
        );
        eprintln!("SKIPPED: no {wanted} font installed (apt-get install {package})");
        return Vec::new();
    }
    let gpu = gpu_renderer().map(|g| ("gpu", g.clone()));
    std::iter::once(("cpu", cpu)).chain(gpu).collect()
}

/// A GPU renderer a test opened for itself (with its own device), or `None`
/// when there is no adapter: a failure under `CI=true`, a printed skip
/// elsewhere.
pub fn opened_gpu(made: Result<Renderer, impasto::Error>) -> Option<Renderer> {
    match made {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and no GPU adapter: {e}"
            );
            eprintln!("SKIPPED the GPU backend (no adapter): {e}");
            None
        }
    }
}

/// Every backend on this machine: the CPU, and the GPU when there is an
/// adapter (required under `CI=true`).
pub fn backends() -> Vec<TestBackend> {
    let mut all = vec![TestBackend {
        name: "cpu",
        renderer: Renderer::new(Backend::Cpu)
            .expect("the CPU backend always exists")
            .with_system_fonts(false),
        tolerance: CPU,
        text_tolerance: CPU,
    }];
    if let Some(gpu) = gpu_renderer() {
        all.push(TestBackend {
            name: "gpu",
            renderer: gpu.clone().with_system_fonts(false),
            tolerance: GPU,
            text_tolerance: GPU_TEXT,
        });
    }
    all
}

/// How two images differ, in the units `tolerance` names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Difference {
    /// The largest channel difference.
    pub worst: f64,
    /// Channels differing by more than the tolerance's `loose`.
    pub loose: usize,
    /// Channels compared.
    pub channels: usize,
}

impl Difference {
    /// Whether this difference is within `t`.
    pub fn within(&self, t: &Tolerance) -> bool {
        self.worst <= t.max && self.loose as f64 <= t.share * self.channels as f64
    }
}

/// The difference between two same-sized straight-alpha images, compared
/// as `t` says (premultiplied or straight).
pub fn difference(got: &RgbaImage, want: &RgbaImage, t: &Tolerance) -> Difference {
    assert_eq!(got.dimensions(), want.dimensions());
    let mut d = Difference::default();
    let channels = |p: &image::Rgba<u8>| -> [f64; 4] {
        if t.premultiplied {
            let a = p[3] as f64 / 255.0;
            [
                p[0] as f64 * a,
                p[1] as f64 * a,
                p[2] as f64 * a,
                p[3] as f64,
            ]
        } else {
            p.0.map(f64::from)
        }
    };
    for (p, q) in got.pixels().zip(want.pixels()) {
        let (p, q) = (channels(p), channels(q));
        for c in 0..4 {
            let e = (p[c] - q[c]).abs();
            d.worst = d.worst.max(e);
            if e > t.loose {
                d.loose += 1;
            }
            d.channels += 1;
        }
    }
    d
}

/// A grey image of where two same-sized images differ (brighter: more).
pub fn diff_image(got: &RgbaImage, want: &RgbaImage) -> RgbaImage {
    RgbaImage::from_fn(got.width(), got.height(), |x, y| {
        let (a, b) = (got.get_pixel(x, y), want.get_pixel(x, y));
        let m = (0..4)
            .map(|c| (a[c] as i32 - b[c] as i32).abs())
            .max()
            .unwrap_or(0);
        let v = (m * 60).min(255) as u8;
        image::Rgba([v, v, v, 255])
    })
}

/// Checks `got` against `want` under `t`; on failure writes `NAME.got.png`,
/// `NAME.want.png` and `NAME.diff.png` into `target/test-failures/` and
/// returns the problem in one line.
pub fn check_images(
    name: &str,
    got: &RgbaImage,
    want: &RgbaImage,
    t: &Tolerance,
) -> Option<String> {
    if got.dimensions() != want.dimensions() {
        return Some(format!(
            "{name}: size {:?}, expected {:?}",
            got.dimensions(),
            want.dimensions()
        ));
    }
    let d = difference(got, want, t);
    if d.within(t) {
        return None;
    }
    let dir = super::failure_dir();
    got.save(dir.join(format!("{name}.got.png"))).unwrap();
    want.save(dir.join(format!("{name}.want.png"))).unwrap();
    diff_image(got, want)
        .save(dir.join(format!("{name}.diff.png")))
        .unwrap();
    Some(format!(
        "{name}: worst channel difference {:.2}, {} of {} channels differ by more than {} (allowed: {} and {:.2}%; images in {})",
        d.worst,
        d.loose,
        d.channels,
        t.loose,
        t.max,
        t.share * 100.0,
        dir.display()
    ))
}
