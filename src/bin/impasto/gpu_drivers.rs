//! How many threads drive the GPU backend side by side when the command
//! line renders many images (`impasto batch`, the harness's batch cases).
//!
//! One driving thread runs `Renderer::render_each`'s overlapped path: it
//! lays out and uploads scene `i + 1` while the GPU draws scene `i`, and
//! other threads encode. On a hardware GPU that one thread is the bound:
//! on an NVIDIA H100 with a 16-core host (2026-11-26, BENCHMARKS.md, "On an
//! NVIDIA H100 again") 32 social cards ran at 531-569 cards/s with
//! one driver, 778-847 with two, 839-872 with three, 751-843 with four or
//! six and 695-719 with eight; `impasto batch` wrote 4,000 cards at 404-461
//! a second with one driver and 951-1,000 with three. A software adapter
//! (lavapipe) draws on the same cores that would drive it, so it gets one.

use impasto::Renderer;

/// The default for `renderer`: see [`for_host`]; one for the CPU backend.
pub fn auto(renderer: &Renderer) -> usize {
    let hardware = renderer.adapter().is_some_and(|a| a.hardware);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for_host(hardware, cores)
}

/// One driver for a software adapter; for a hardware GPU one per five
/// cores (the rest encode), at least one and at most three (more measured
/// slower: the drivers contend for the queue and the text engine).
pub fn for_host(hardware: bool, cores: usize) -> usize {
    if hardware {
        (cores / 5).clamp(1, 3)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_adapters_get_one_driver_and_hardware_one_per_five_cores_up_to_three() {
        assert_eq!(for_host(false, 64), 1);
        assert_eq!(for_host(true, 1), 1);
        assert_eq!(for_host(true, 9), 1);
        assert_eq!(for_host(true, 10), 2);
        assert_eq!(for_host(true, 16), 3);
        assert_eq!(for_host(true, 128), 3);
    }
}
