//! The render a decode on this thread belongs to, for a decoder deep in the
//! codec to ask whether it must stop without every function on the way
//! taking a stop: a PNG decompression bomb (a 117 KB file of 11000x11000
//! pixels) took a second to decode past any deadline. [`decoding_for`]
//! sets it around one decode; [`must_stop`] asks it, from the thread that
//! decodes (the row loop of `png_rows`).

use std::cell::RefCell;

use crate::RenderOptions;

thread_local! {
    static RENDER: RefCell<Option<RenderOptions>> = const { RefCell::new(None) };
}

/// Runs `decode` with `options` as this thread's render (restored after,
/// also on a panic).
pub(crate) fn decoding_for<R>(options: &RenderOptions, decode: impl FnOnce() -> R) -> R {
    struct Restore(Option<RenderOptions>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            RENDER.with(|r| *r.borrow_mut() = before);
        }
    }
    let before = RENDER.with(|r| r.borrow_mut().replace(options.clone()));
    let _restore = Restore(before);
    decode()
}

/// Whether the render this thread decodes for is cancelled or past its
/// deadline (false outside [`decoding_for`]).
pub(crate) fn must_stop() -> bool {
    RENDER.with(|r| r.borrow().as_ref().is_some_and(|o| o.stop().now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decode_sees_its_renders_stop_and_nothing_outside_it() {
        assert!(!must_stop());
        let past = RenderOptions::with_deadline(std::time::Instant::now());
        assert!(decoding_for(&past, must_stop));
        let later = RenderOptions::with_timeout(std::time::Duration::from_secs(3600));
        assert!(!decoding_for(&later, must_stop));
        // Nested: the inner render's, then the outer's again.
        decoding_for(&later, || {
            assert!(decoding_for(&past, must_stop));
            assert!(!must_stop());
        });
        assert!(!must_stop());
    }
}
