//! How text-heavy renders scale with threads (issue 11, item 6): one shared
//! `Renderer` (CPU backend, bundled fonts only) renders the same text-heavy
//! 1200x630 cards, each with different text, in a rayon pool of 1 thread,
//! then 2, ... up to every CPU; every render's own parallel work stays in
//! the pool, so 1 thread is one core.
//!
//! Run: `cargo bench --bench text_scaling [-- --cards 120 --rounds 3]`.
//! Pool sizes are interleaved over the rounds (1, 2, .., 1, 2, ..) and the
//! best round of each is kept, so a load spike hurts one round, not one
//! size. Prints cards/s per pool size, the ratio to 1 thread, and the CPU
//! time the process used per card (the same per card at every size when
//! threads do not contend: spinning on a lock would raise it; waiting on
//! a lock shows as CPU use under the pool size instead). Figures go to
//! BENCHMARKS.md with the machine's load.

use std::time::Instant;

use impasto::{Backend, Renderer, Scene};
use rayon::prelude::*;

const WORDS: &[&str] = &[
    "espresso",
    "harbour",
    "morning",
    "market",
    "garden",
    "autumn",
    "festival",
    "river",
    "library",
    "season",
    "harvest",
    "journey",
    "studio",
    "design",
    "opening",
    "gallery",
    "concert",
    "workshop",
    "ticket",
    "weekend",
    "mountain",
    "bakery",
    "winter",
    "launch",
    "Zürich",
    "naïve",
    "façade",
    "Ålesund",
    "œuvre",
    "½",
    "€12.50",
    "—",
    "“quoted”",
];

/// A deterministic word sequence for card `seed`.
fn words(seed: u64, n: usize) -> String {
    let mut v = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
        out.push(WORDS[(v % WORDS.len() as u64) as usize]);
    }
    out.join(" ")
}

/// A card with a title, three paragraphs, a list and a footer: eight text
/// layers, about 250 words, over a flat background and one panel.
fn card(i: u64) -> Scene {
    let text = |x: u32, y: u32, w: u32, h: u32, size: u32, weight: u32, n: usize, k: u64| {
        serde_json::json!({"type": "text", "text": words(i * 16 + k, n), "x": x, "y": y,
            "width": w, "height": h, "size": size, "weight": weight, "color": "#1d1d1f",
            "line_height": 1.3})
    };
    let layers = vec![
        serde_json::json!({"type": "rect", "x": 24, "y": 24, "width": 1152, "height": 582,
            "corner_radius": 20, "color": "#ffffff"}),
        text(48, 40, 1100, 120, 44, 700, 9, 0),
        text(48, 170, 540, 200, 18, 400, 55, 1),
        text(612, 170, 540, 200, 18, 400, 55, 2),
        text(48, 380, 540, 160, 16, 400, 45, 3),
        text(612, 380, 260, 160, 16, 600, 14, 4),
        text(892, 380, 260, 160, 16, 400, 20, 5),
        text(48, 560, 1100, 40, 14, 400, 18, 6),
    ];
    Scene::from_value(&serde_json::json!({
        "width": 1200, "height": 630, "background": "#e9e4da", "layers": layers
    }))
    .expect("the card is a valid scene")
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses): utime is the
    // 14th field, stime the 15th, in clock ticks (100 a second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let cards = arg("--cards", 120);
    let rounds = arg("--rounds", 3);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut sizes = vec![1, 2];
    let mut s = 4;
    while s < cpus {
        sizes.push(s);
        s *= 2;
    }
    if cpus > 2 {
        sizes.push(cpus);
    }
    let renderer = Renderer::new(Backend::Cpu)
        .expect("the CPU backend needs no device")
        .with_system_fonts(false);
    let scenes: Vec<Scene> = (0..cards as u64).map(card).collect();
    // Warm-up: fonts loaded, the glyph cache filled (the words repeat).
    for scene in scenes.iter().take(8) {
        renderer.render(scene).expect("the card renders");
    }
    let mut best = vec![(0.0f64, 0.0f64); sizes.len()];
    for _ in 0..rounds {
        for (slot, &threads) in best.iter_mut().zip(&sizes) {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            let (t, cpu) = (Instant::now(), cpu_seconds());
            pool.install(|| {
                scenes.par_iter().for_each(|scene| {
                    renderer.render(scene).expect("the card renders");
                })
            });
            let rate = cards as f64 / t.elapsed().as_secs_f64();
            let cpu_ms = (cpu_seconds() - cpu) * 1000.0 / cards as f64;
            if rate > slot.0 {
                *slot = (rate, cpu_ms);
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "text_scaling: {cards} text-heavy 1200x630 cards (8 text layers, ~250 words), best of {rounds} rounds, {cpus} CPUs, load average {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| threads | cards/s | vs 1 thread | CPU ms per card |");
    println!("|---:|---:|---:|---:|");
    for (&threads, &(rate, cpu_ms)) in sizes.iter().zip(&best) {
        println!(
            "| {threads} | {rate:.1} | {:.2}x | {cpu_ms:.1} |",
            rate / best[0].0
        );
    }
}
