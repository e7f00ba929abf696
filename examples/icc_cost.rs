//! The cost of colour management on decode (BENCHMARKS.md): a 4000x3000
//! photo-like JPEG decoded by `codec::decode_bytes` with no profile, with an
//! sRGB profile (recognised and skipped), and with an Adobe RGB (1998)
//! profile (converted).
//!
//! ```sh
//! cargo run --release --example icc_cost [-- RUNS]
//! ```
//!
//! Prints the median and the fastest of RUNS decodes (default 9) for each,
//! and the first decode (which builds the cached transform).

use std::time::Instant;

use impasto::codec::decode_bytes;

fn photo_jpeg(w: u16, h: u16, icc: Option<&[u8]>) -> Vec<u8> {
    let (wf, hf) = (w as f32, h as f32);
    let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            let (fx, fy) = (x as f32 / wf, y as f32 / hf);
            let r = 128.0 + 100.0 * (fx * 9.0).sin() * (fy * 4.0).cos();
            let g = 100.0 + 80.0 * (fy * 23.0 + fx * 5.0).sin();
            let b = 130.0 + 90.0 * ((fx - 0.5) * (fy - 0.3) * 60.0).cos();
            // A little per-pixel texture, as a photo has.
            let n = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27) as f32;
            rgb.extend_from_slice(&[(r + n) as u8, (g + n) as u8, (b + n) as u8]);
        }
    }
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    if let Some(icc) = icc {
        enc.add_icc_profile(icc).expect("a small profile fits");
    }
    enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encodes");
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 9,
    };
    let srgb = moxcms::ColorProfile::new_srgb().encode()?;
    let adobe = moxcms::ColorProfile::new_adobe_rgb().encode()?;
    println!(
        "4000x3000 JPEG q90, decode_bytes, {runs} runs, {} rayon threads",
        rayon::current_num_threads()
    );
    for (name, icc) in [
        ("no profile", None),
        ("sRGB profile", Some(&srgb[..])),
        ("Adobe RGB profile", Some(&adobe[..])),
    ] {
        let bytes = photo_jpeg(4000, 3000, icc);
        // The first decode also builds (and caches) the transform.
        let t = Instant::now();
        decode_bytes(&bytes, 1 << 26)?;
        let first = t.elapsed().as_secs_f64() * 1e3;
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let img = decode_bytes(&bytes, 1 << 26).expect("decodes");
                std::hint::black_box(img);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{name:>18}: median {:7.1} ms, fastest {:7.1} ms, first {first:7.1} ms",
            times[times.len() / 2],
            times[0]
        );
    }
    Ok(())
}
