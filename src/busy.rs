//! How many renders are running in this process: when they already occupy
//! every core, a render does not split work that only parallelism pays
//! for (the JPEG decoder's speculative chunks, which decode some blocks
//! twice to start mid-stream), since the other renders keep the cores busy.
//! Measured: 200 social cards on 2 cores, no caches, 40.2 -> 41.6 cards/s
//! (mean of seven interleaved runs each, BENCHMARKS.md).

use std::sync::atomic::{AtomicUsize, Ordering};

/// A count of renders running.
pub(crate) struct Renders(AtomicUsize);

/// The process's renders.
static RUNNING: Renders = Renders(AtomicUsize::new(0));

/// One render counted in a [`Renders`], for as long as it lives.
pub(crate) struct Running(&'static Renders);

impl Running {
    /// Counts a render in the process's count until the value drops.
    pub(crate) fn start() -> Running {
        RUNNING.start()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Renders {
    fn start(&'static self) -> Running {
        self.0.fetch_add(1, Ordering::Relaxed);
        Running(self)
    }

    /// Whether the renders running are at least as many as the threads of
    /// the current rayon pool.
    fn cores_taken(&self) -> bool {
        self.0.load(Ordering::Relaxed) >= rayon::current_num_threads()
    }
}

/// Whether the process's renders running now are at least as many as the
/// threads of the current rayon pool.
pub(crate) fn cores_taken() -> bool {
    RUNNING.cores_taken()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_running_on_every_thread_take_the_cores_and_release_them_when_done() {
        // A count of its own: other tests' renders move the process's.
        static MINE: Renders = Renders(AtomicUsize::new(0));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            let first = MINE.start();
            assert!(!MINE.cores_taken(), "one render, two threads");
            let second = MINE.start();
            assert!(MINE.cores_taken(), "two renders, two threads");
            drop(second);
            assert!(!MINE.cores_taken(), "the second render finished");
            drop(first);
            assert_eq!(MINE.0.load(Ordering::Relaxed), 0);
        });
    }
}
