//! The four cases: what one repetition of each does.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use impasto::codec::{decode_file, encode, OutputFormat};
use impasto::{Assets, Encodable, Error, Renderer, RgbaImage, Scene};
use rayon::prelude::*;

use super::report::{CaseReport, Status};
use super::stats::measure;
use super::suite::Fixtures;
use super::threads::{tasks_cpu, Stamp, Tallies, Tally, ThreadTimes};

/// Every case, in the order they run and are reported: name, description.
pub const CASES: [(&str, &str); 4] = [
    (
        "composite_10x2048",
        "ten 2048x2048 RGBA layers from memory, source-over; result kept in memory",
    ),
    (
        "poster",
        "examples/poster/poster.json end to end: decode files, render, encode PNG in memory",
    ),
    (
        "social_cards_batch",
        "a batch of 1200x630 cards (photo, gradient, logo, two text layers) rendered and encoded as JPEG q85 on every core (GPU: render_each on the driving threads, encoders beside them)",
    ),
    (
        "thumbnails",
        "a folder of images: decode each, render a 256 px longest-side thumbnail, JPEG q85",
    ),
];

const JPEG_Q85: OutputFormat = OutputFormat::Jpeg { quality: 85 };

/// Images one repetition of `case` produces.
pub fn images_per_rep(case: &str, fx: &Fixtures) -> u32 {
    match case {
        "social_cards_batch" => fx.cards.0.len() as u32,
        "thumbnails" => fx.thumbs.len() as u32,
        _ => 1,
    }
}

/// Runs one case on `renderer` and reports it (`failed` with the error's
/// message when a render fails).
pub fn run_case(
    (name, description): (&str, &str),
    renderer: &Renderer,
    fx: &Fixtures,
    (warmup, reps): (u32, u32),
    drivers: usize,
) -> CaseReport {
    // The batch cases' thread clocks on the GPU, one per repetition
    // (warm-up included).
    let mut tallies: Vec<Tally> = Vec::new();
    let mut one_rep = || -> Result<(), Error> {
        let tally = match name {
            "composite_10x2048" => {
                let (scene, assets) = &fx.composite;
                black_box(renderer.render_with_assets(scene, assets)?);
                None
            }
            "poster" => {
                poster(renderer, fx.poster_path())?;
                None
            }
            "social_cards_batch" => render_and_encode(renderer, &fx.cards.0, &fx.cards.1, drivers)?,
            "thumbnails" => thumbnails(renderer, &fx.thumbs, drivers)?,
            _ => unreachable!("unknown case {name}"),
        };
        tallies.extend(tally);
        Ok(())
    };
    let images = images_per_rep(name, fx);
    let mut report = CaseReport {
        name: name.into(),
        description: description.into(),
        status: Status::Ok,
        reason: None,
        images_per_rep: images,
        warmup,
        reps,
        latency_ms: None,
        images_per_second: None,
        samples_ms: Vec::new(),
        threads: None,
    };
    match measure(warmup, reps, &mut one_rep) {
        Ok(samples) => {
            report.latency_ms = samples.latency();
            report.images_per_second = samples.images_per_second(images);
            report.samples_ms = samples.ms;
            // The timed repetitions' clocks: the warm-up's came first.
            if tallies.len() == (warmup + reps) as usize {
                let timed = &tallies[warmup as usize..];
                report.threads = ThreadTimes::of(timed, u64::from(images) * u64::from(reps));
            }
        }
        Err(e) => {
            report.status = Status::Failed;
            report.reason = Some(e.to_string());
        }
    }
    report
}

/// The sample poster: parse the scene file, decode its images from files,
/// render, encode PNG in memory.
fn poster(renderer: &Renderer, path: PathBuf) -> Result<(), Error> {
    let scene = Scene::from_path(path)?;
    black_box(renderer.render_to_vec(&scene, &Assets::new(), OutputFormat::Png)?);
    Ok(())
}

/// Renders `scenes` and encodes each result as JPEG q85 in memory, each
/// backend the way `impasto batch` drives it, so that the figure is the
/// backend's throughput rather than one thread's encoding: on the GPU
/// `drivers` threads each drive the overlapped path over their share of
/// the scenes (`render_each_encoded`: scene `i + 1` is uploaded and
/// submitted while scene `i` is drawn and read back, and the GPU computes
/// each JPEG's DCT blocks) and hand each result, through a queue of one per
/// encoder, to as many encoding threads as rayon's pool has, which
/// entropy-code it; on the CPU the pool's threads render and encode whole
/// scenes side by side. On the GPU, the threads' clocks come back
/// ([`super::threads`]).
fn render_and_encode(
    renderer: &Renderer,
    scenes: &[Scene],
    assets: &Assets,
    drivers: usize,
) -> Result<Option<Tally>, Error> {
    if renderer.adapter().is_none() {
        scenes.par_iter().try_for_each(|scene| {
            let img = renderer.render_with_assets(scene, assets)?;
            black_box(encode(&img, JPEG_Q85)?);
            Ok::<(), Error>(())
        })?;
        return Ok(None);
    }
    let tallies = Tallies::new();
    let before = tasks_cpu();
    let first_error = Mutex::new(None);
    let keep = |e: Error| {
        first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(e);
    };
    let encoders = rayon::current_num_threads();
    // Bounded: the drivers wait while every encoder is busy and the queue
    // holds one image per encoder.
    let (tx, rx) = sync_channel::<Encodable>(encoders);
    let rx = Mutex::new(rx);
    // Plain threads, not rayon jobs: the drivers' uploads and readbacks and
    // the encoder's strips run on rayon's pool, which none of these threads
    // occupies while it waits.
    std::thread::scope(|ts| {
        for _ in 0..encoders {
            ts.spawn(|| {
                let start = Stamp::now();
                loop {
                    let next = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(img) = next else { break };
                    // On the GPU the JPEG pass computed the blocks: only
                    // their entropy coding is left here.
                    match img.encode() {
                        Ok(bytes) => {
                            black_box(bytes);
                        }
                        Err(e) => keep(e),
                    }
                }
                tallies.encoder_done(&start);
            });
        }
        for share in shares(scenes, drivers) {
            let tx = tx.clone();
            let (keep, tallies) = (&keep, &tallies);
            ts.spawn(move || {
                let start = Stamp::now();
                let mut handing_over = Duration::ZERO;
                renderer.render_each_encoded(share, assets, JPEG_Q85, |_, result| match result {
                    // The encoders outlive the drivers: a send fails only
                    // if one panicked, which the scope reports.
                    Ok(img) => {
                        let sent = Instant::now();
                        drop(tx.send(img));
                        handing_over += sent.elapsed();
                    }
                    Err(e) => keep(e),
                });
                tallies.driver_done(&start, handing_over);
            });
        }
        // The encoders stop once every driver has dropped its sender.
        drop(tx);
    });
    match first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(Some(tallies.into_tally((before, tasks_cpu())))),
    }
}

/// `scenes` split into `min(drivers, scenes.len())` consecutive shares
/// whose sizes differ by at most one (none when there are no scenes).
fn shares(scenes: &[Scene], drivers: usize) -> Vec<&[Scene]> {
    let n = drivers.clamp(1, scenes.len().max(1));
    let len = scenes.len();
    (0..n)
        .map(|i| &scenes[i * len / n..(i + 1) * len / n])
        .filter(|s| !s.is_empty())
        .collect()
}

/// The thumbnail side: 256 px on the longest side, the other in proportion
/// (at least 1).
pub fn thumbnail_size(w: u32, h: u32) -> (u32, u32) {
    let long = w.max(h) as f64;
    let scale = |v: u32| ((v as f64 * 256.0 / long).round() as u32).max(1);
    (scale(w), scale(h))
}

/// Decodes every file (in parallel, as a thumbnailer would), then renders
/// each into a thumbnail-sized canvas (one image layer, fit contain) and
/// encodes it as JPEG q85.
fn thumbnails(
    renderer: &Renderer,
    files: &[PathBuf],
    drivers: usize,
) -> Result<Option<Tally>, Error> {
    let max_pixels = renderer.limits().max_image_pixels;
    let decoded: Vec<RgbaImage> = files
        .par_iter()
        .map(|path| {
            decode_file(path, max_pixels).map_err(|e| {
                Error::Options(format!("{}: {}", impasto::scene::shown_path(path), e.0))
            })
        })
        .collect::<Result<_, _>>()?;
    let mut assets = Assets::new();
    let mut scenes = Vec::with_capacity(decoded.len());
    for (i, img) in decoded.into_iter().enumerate() {
        let (w, h) = thumbnail_size(img.width(), img.height());
        let src = format!("image{i}");
        scenes.push(Scene::from_value(&serde_json::json!({
            "width": w, "height": h,
            "layers": [ { "type": "image", "src": src, "fit": "contain" } ]
        }))?);
        assets.insert(src, img);
    }
    render_and_encode(renderer, &scenes, &assets, drivers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(n: usize, drivers: usize) -> Vec<usize> {
        let scenes = vec![Scene::new(1, 1); n];
        shares(&scenes, drivers).iter().map(|s| s.len()).collect()
    }

    #[test]
    fn shares_are_one_per_driver_at_most_one_apart_and_cover_every_scene() {
        assert_eq!(sizes(4, 3), [1, 1, 2]);
        assert_eq!(sizes(32, 3), [10, 11, 11]);
        assert_eq!(sizes(8, 1), [8]);
        assert_eq!(sizes(2, 8), [1, 1]);
        assert_eq!(sizes(1, 0), [1]);
        assert!(sizes(0, 3).is_empty());
    }
}
