//! Encodes that cannot be interrupted, run so that a render still stops at
//! its deadline or cancel token: on a thread of their own, watched by the
//! caller, who gives up on one that has to stop and answers at once.
//!
//! An AVIF encode (rav1e, through ravif) takes seconds a megapixel and has
//! no way to be stopped part way: a 2048x2048 poster under `--timeout 0.5`
//! failed after 6.3 s, when its encode ended. Now it fails at 0.5 s.
//!
//! An encode given up on (abandoned) still runs to its end, its result
//! dropped. What the caller gives to hold while it runs (`hold`: the
//! service's reservation of memory and a worker) is dropped only then, so
//! the work is still counted where it is counted. At most
//! [`MOST_ABANDONED`] abandoned encodes run at once in the process: an
//! encode that would start past that waits (stopping at its own deadline)
//! for one to end, so a batch whose every row times out does not pile up
//! encodes. Their count is [`abandoned_running`].

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::cancel::Stop;
use crate::error::Error;

/// The most abandoned encodes running at once in the process.
pub const MOST_ABANDONED: usize = 2;

/// How often the caller looks at its deadline and cancel token while an
/// encode runs.
const LOOK_EVERY: Duration = Duration::from_millis(5);

/// Abandoned encodes running, and a signal when one ends.
static ABANDONED: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

fn abandoned() -> MutexGuard<'static, usize> {
    ABANDONED.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// Abandoned encodes still running in this process.
pub fn abandoned_running() -> usize {
    *abandoned()
}

/// Where an encode's thread leaves its result.
enum Slot<H> {
    Running,
    Done(Result<Vec<u8>, String>, H),
    /// The caller has stopped waiting: the thread drops its result.
    Abandoned,
    /// The result was taken.
    Taken,
}

struct Shared<H> {
    slot: Mutex<Slot<H>>,
    done: Condvar,
}

impl<H> Shared<H> {
    fn slot(&self) -> MutexGuard<'_, Slot<H>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `encode`, on this thread when `stop` can never say stop, else on a
/// thread of its own, which is abandoned as soon as `stop` says stop
/// (then `hold` is dropped when `encode` ends, and the error says why it
/// stopped). An encode that ends after `stop` says stop is refused too, as
/// a render that ends past its deadline is. `hold` comes back with the
/// bytes. `format` names the encode's format in its errors.
pub(crate) fn run<H, F>(
    format: &'static str,
    stop: &Stop<'_>,
    hold: H,
    encode: F,
) -> Result<(Vec<u8>, H), Error>
where
    H: Send + 'static,
    F: FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
{
    let err = |message| Error::Encode { format, message };
    stop.check()?;
    if !stop.can_stop() {
        return encode().map(|bytes| (bytes, hold)).map_err(err);
    }
    // Room for this encode among the abandoned ones.
    {
        let mut running = abandoned();
        while *running >= MOST_ABANDONED {
            stop.check()?;
            running = ABANDONED
                .1
                .wait_timeout(running, LOOK_EVERY)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::Running),
        done: Condvar::new(),
    });
    let theirs = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("impasto-encode".into())
        .spawn(move || {
            let result = encode();
            let mut slot = theirs.slot();
            if matches!(*slot, Slot::Abandoned) {
                drop(slot);
                drop((result, hold));
                *abandoned() -= 1;
                ABANDONED.1.notify_all();
            } else {
                *slot = Slot::Done(result, hold);
                theirs.done.notify_all();
            }
        })
        .map_err(|e| Error::Internal(format!("starting an encode thread: {e}")))?;
    let mut slot = shared.slot();
    loop {
        if stop.now() {
            if matches!(*slot, Slot::Running) {
                // Counted before the lock is let go, so that the thread,
                // which counts it down, finds it counted.
                *abandoned() += 1;
                *slot = Slot::Abandoned;
            }
            return Err(stop.reason());
        }
        if matches!(*slot, Slot::Done(..)) {
            let Slot::Done(result, hold) = std::mem::replace(&mut *slot, Slot::Taken) else {
                unreachable!("matched Done just above");
            };
            return result.map(|bytes| (bytes, hold)).map_err(err);
        }
        slot = shared
            .done
            .wait_timeout(slot, LOOK_EVERY)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::{CancelToken, RenderOptions};
    use std::sync::mpsc;

    /// A hold that says when it is dropped.
    #[derive(Debug)]
    struct Held(mpsc::Sender<()>);
    impl Drop for Held {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    /// Tests that count abandoned encodes run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn a_cancelled_encode_answers_at_once_and_its_hold_is_dropped_when_it_ends() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let token = CancelToken::new();
        let options = RenderOptions::default().cancel_token(token.clone());
        let stop = options.stop();
        let (release, released) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let (dropped_tx, dropped) = mpsc::channel::<()>();
        let canceller = std::thread::spawn(move || {
            // Cancelled once the encode has started.
            started.recv().expect("the encode starts");
            token.cancel();
        });
        let result = run("avif", &stop, Held(dropped_tx), move || {
            started_tx.send(()).expect("the test waits");
            // Runs until the test lets it end, after the answer.
            released.recv().expect("released");
            Ok(vec![1, 2, 3])
        });
        canceller.join().expect("cancelled");
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
        // Answered while the encode still runs: its hold is held.
        assert_eq!(abandoned_running(), 1);
        assert!(dropped.try_recv().is_err(), "the hold outlives the answer");
        release.send(()).expect("the encode waits");
        dropped
            .recv()
            .expect("the hold is dropped when the encode ends");
        // The count goes down just after the hold is dropped.
        let mut running = abandoned();
        while *running > 0 {
            running = ABANDONED.1.wait(running).unwrap_or_else(|p| p.into_inner());
        }
    }

    #[test]
    fn an_encode_that_ends_in_time_returns_its_bytes_and_its_hold() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let options = RenderOptions::default().cancel_token(CancelToken::new());
        let (bytes, hold) = run("avif", &options.stop(), 7u8, || Ok(vec![9; 4])).expect("encoded");
        assert_eq!((bytes, hold), (vec![9; 4], 7));
        let failed = run("avif", &options.stop(), (), || Err("bad".into()));
        assert!(matches!(failed, Err(Error::Encode { .. })), "{failed:?}");
        // Without a deadline or a token, on the calling thread.
        let here = std::thread::current().id();
        let (on, ()) = run("avif", &Stop::never(), (), move || {
            Ok(vec![u8::from(std::thread::current().id() == here)])
        })
        .expect("encoded");
        assert_eq!(on, vec![1]);
    }

    #[test]
    fn past_the_most_abandoned_an_encode_waits_for_one_to_end_stopping_at_its_own_deadline() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let mut releases = Vec::new();
        for _ in 0..MOST_ABANDONED {
            let token = CancelToken::new();
            let options = RenderOptions::default().cancel_token(token.clone());
            let (release, released) = mpsc::channel::<()>();
            releases.push(release);
            token.cancel();
            // Cancelled before it starts: refused without a thread.
            assert!(run("avif", &options.stop(), (), || Ok(Vec::new())).is_err());
            // Cancelled while it runs: abandoned.
            let token = CancelToken::new();
            let options = RenderOptions::default().cancel_token(token.clone());
            let (started_tx, started) = mpsc::channel::<()>();
            let canceller = std::thread::spawn(move || {
                started.recv().expect("started");
                token.cancel();
            });
            let r = run("avif", &options.stop(), (), move || {
                started_tx.send(()).expect("the canceller waits");
                released.recv().expect("released");
                Ok(Vec::new())
            });
            canceller.join().expect("cancelled");
            assert!(matches!(r, Err(Error::Cancelled)));
        }
        assert_eq!(abandoned_running(), MOST_ABANDONED);
        // A third waits for room and stops at its deadline, never started.
        let options = RenderOptions::with_timeout(Duration::from_millis(30));
        let r = run("avif", &options.stop(), (), || panic!("not started"));
        assert!(matches!(r, Err(Error::DeadlineExceeded)), "{r:?}");
        for release in releases {
            release.send(()).expect("the encode waits");
        }
        let mut running = abandoned();
        while *running > 0 {
            running = ABANDONED.1.wait(running).unwrap_or_else(|p| p.into_inner());
        }
    }
}
