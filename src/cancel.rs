//! Deadlines and cancellation of renders: [`RenderOptions`] and
//! [`CancelToken`], and the check the painters make between units of work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Cancels the renders it is given to, from any thread.
///
/// ```
/// let token = impasto::CancelToken::new();
/// let for_the_render = token.clone();
/// token.cancel(); // a render given `for_the_render` stops with Error::Cancelled
/// assert!(for_the_render.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every render holding a clone of this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Options of one render: a deadline and a cancel token.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The render fails with [`Error::DeadlineExceeded`] if it is not done
    /// by then. The CPU backend checks between bands of rows, between
    /// layers and between resampling bands, so it stops within a few tens of
    /// milliseconds; the GPU backend checks before it submits and while it
    /// waits for the GPU.
    pub deadline: Option<Instant>,
    /// Cancels the render ([`Error::Cancelled`]) when cancelled.
    pub cancel: Option<CancelToken>,
}

impl RenderOptions {
    /// Options with a deadline `timeout` from now.
    pub fn with_timeout(timeout: Duration) -> RenderOptions {
        RenderOptions {
            deadline: Some(Instant::now() + timeout),
            cancel: None,
        }
    }

    /// Options with a deadline at `deadline` (a service's request deadline,
    /// shared by the renders it makes).
    pub fn with_deadline(deadline: Instant) -> RenderOptions {
        RenderOptions {
            deadline: Some(deadline),
            cancel: None,
        }
    }

    /// These options with a cancel token.
    pub fn cancel_token(mut self, token: CancelToken) -> RenderOptions {
        self.cancel = Some(token);
        self
    }

    /// The check the painters make.
    pub(crate) fn stop(&self) -> Stop<'_> {
        Stop {
            options: self,
            stopped: AtomicBool::new(false),
        }
    }
}

/// Whether a render must stop, checked by the painters between units of
/// work; once it says stop it keeps saying so.
pub(crate) struct Stop<'o> {
    options: &'o RenderOptions,
    stopped: AtomicBool,
}

impl Stop<'_> {
    /// A check that never stops (for work outside a render).
    pub(crate) fn never() -> Stop<'static> {
        static NONE: RenderOptions = RenderOptions {
            deadline: None,
            cancel: None,
        };
        NONE.stop()
    }

    /// Whether this check can ever say stop (a deadline or a cancel token
    /// was given).
    pub(crate) fn can_stop(&self) -> bool {
        self.options.deadline.is_some() || self.options.cancel.is_some()
    }

    /// The options this check reads.
    pub(crate) fn options(&self) -> &RenderOptions {
        self.options
    }

    /// True when the render is cancelled or past its deadline.
    pub(crate) fn now(&self) -> bool {
        if self.stopped.load(Ordering::Relaxed) {
            return true;
        }
        let stop = self
            .options
            .cancel
            .as_ref()
            .is_some_and(|c| c.is_cancelled())
            || self.options.deadline.is_some_and(|d| Instant::now() >= d);
        if stop {
            self.stopped.store(true, Ordering::Relaxed);
        }
        stop
    }

    /// `Ok` unless the render must stop; then the error saying why.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if !self.now() {
            return Ok(());
        }
        Err(self.reason())
    }

    /// The error of a stopped render: [`Error::Cancelled`] when the token
    /// is cancelled, [`Error::DeadlineExceeded`] otherwise (for a check that
    /// said stop).
    pub(crate) fn reason(&self) -> Error {
        if self
            .options
            .cancel
            .as_ref()
            .is_some_and(|c| c.is_cancelled())
        {
            Error::Cancelled
        } else {
            Error::DeadlineExceeded
        }
    }
}
