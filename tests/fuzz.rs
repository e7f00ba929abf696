//! Structure-aware fuzzing on stable Rust, bounded: 600 generated cases
//! (tests/fuzzgen: scenes as JSON text and as structs with extreme floats,
//! every layer kind and blend mode, gradients with zero to a thousand stops,
//! odd Unicode text, image layers over mutated PNG/JPEG/WebP files) render
//! on the CPU backend, or fail with an error, but never panic and never end
//! in `Error::Internal`. `cargo run --release --example fuzz -- --minutes N`
//! runs the same generator for longer (docs/robustness.md).

#[path = "fuzzgen/mod.rs"]
mod fuzzgen;

/// The seed of this bounded run (the campaigns use others).
const SEED: u64 = 0x1_4A57_0F22;
const CASES: u64 = 600;

#[test]
fn generated_scenes_and_mutated_images_never_panic_or_fail_internally() {
    let dir = tempfile::tempdir().unwrap();
    let renderer = fuzzgen::renderer(dir.path());
    let seeds = fuzzgen::seed_images();
    let mut failures = Vec::new();
    for n in 0..CASES {
        let case = fuzzgen::case(SEED, n, &seeds);
        if let Err(f) = fuzzgen::run_case(&renderer, dir.path(), &case) {
            failures.push(format!(
                "case {n} ({}): {}\n  json: {}\n  built: {:?}",
                f.which, f.message, case.json, case.built
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases failed (replay: seed {SEED:#x}, case n):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_generator_reaches_every_outcome() {
    // A generator that only makes unparsable scenes would test nothing:
    // some cases must render, some fail as bad input.
    let dir = tempfile::tempdir().unwrap();
    let renderer = fuzzgen::renderer(dir.path());
    let seeds = fuzzgen::seed_images();
    let (mut rendered, mut refused) = (0, 0);
    for n in 0..60 {
        let case = fuzzgen::case(SEED, n, &seeds);
        for (name, bytes) in &case.files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let options = impasto::RenderOptions::default();
        match renderer.render_with(&case.built, &impasto::Assets::new(), &options) {
            Ok(_) => rendered += 1,
            Err(e) if e.is_bad_input() => refused += 1,
            Err(_) => {}
        }
    }
    assert!(rendered >= 5, "only {rendered} of 60 built scenes rendered");
    assert!(
        refused >= 5,
        "only {refused} of 60 built scenes were refused"
    );
    // Image layers drawing data: URLs: some drawn, some refused.
    let (mut drawn, mut bad) = (0, 0);
    for n in 0..CASES {
        let case = fuzzgen::case(SEED, n, &seeds);
        for layer in &case.built.layers {
            let impasto::LayerKind::Image(image) = &layer.kind else {
                continue;
            };
            if !image
                .src
                .to_ascii_lowercase()
                .trim_start()
                .starts_with("data:")
            {
                continue;
            }
            let one = impasto::Scene::new(4, 4).layer(impasto::Layer::image(image.src.clone()));
            match renderer.render(&one) {
                Ok(_) => drawn += 1,
                Err(e) if e.is_bad_input() => bad += 1,
                Err(e) => panic!("case {n}: {e}"),
            }
        }
    }
    assert!(
        drawn >= 5 && bad >= 5,
        "data: URLs: {drawn} drawn, {bad} refused"
    );
}
