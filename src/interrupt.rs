//! Temporary files in flight, for a program that is told to stop.
//!
//! Every output file is written through a temporary file beside it
//! (`.impasto-XXXX.tmp`) that is renamed into place. A process ended by a
//! signal runs no destructors, so without help such a file would stay. The
//! library keeps a process-wide list of the temporary files it has open;
//! [`remove_temp_files`] deletes them. The library installs no signal
//! handler itself: a program that wants the clean-up (the `impasto` command
//! line does) calls [`remove_temp_files`] from its own handler and then
//! exits.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

struct State {
    next_id: u64,
    files: Vec<(u64, PathBuf)>,
    /// Set by [`remove_temp_files`]: no file may be registered or renamed
    /// into place any more.
    closed: bool,
    /// Temporary files being created (between [`creating`] and
    /// [`register`]): the clean-up waits for them.
    creating: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    next_id: 0,
    files: Vec::new(),
    closed: false,
    creating: 0,
});

fn state() -> MutexGuard<'static, State> {
    // The state stays consistent under a panic: every change is one push,
    // one retain or one assignment.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Deletes every temporary output file impasto has open in this process and
/// refuses any later one: a write started afterwards, or one about to be
/// renamed into place, fails with an I/O error of kind `Interrupted`. Meant
/// for a signal handler's thread just before the process exits; returns how
/// many files were removed.
///
/// ```no_run
/// // In a program's SIGTERM handler thread:
/// impasto::interrupt::remove_temp_files();
/// std::process::exit(143);
/// ```
pub fn remove_temp_files() -> usize {
    state().closed = true;
    // A file being created now is either registered before its guard drops
    // (and removed below) or deleted by its owner when registering fails;
    // without the wait, the process could exit in between and leave it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let mut state = state();
    while state.creating > 0 && std::time::Instant::now() < deadline {
        drop(state);
        std::thread::sleep(std::time::Duration::from_millis(1));
        state = self::state();
    }
    let mut removed = 0;
    for (_, path) in state.files.drain(..) {
        if std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether [`remove_temp_files`] has run: the process is stopping on a
/// signal, and a write that failed for it should let the handler end the
/// process (with its own exit status) rather than exit first.
pub fn is_stopping() -> bool {
    state().closed
}

/// A registered temporary file; dropping it unregisters the path (the file
/// itself is deleted by its owner, a `tempfile::NamedTempFile`).
#[derive(Debug)]
pub(crate) struct Registration {
    id: u64,
}

fn interrupted() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Interrupted,
        "the process is stopping (signal): output abandoned",
    )
}

/// Held while a temporary file is created and registered: see
/// [`creating`].
#[derive(Debug)]
pub(crate) struct Creating(());

impl Drop for Creating {
    fn drop(&mut self) {
        state().creating -= 1;
    }
}

/// Marks a temporary file about to be created (its name not yet known);
/// [`remove_temp_files`] waits until the guard is dropped. An `Interrupted`
/// error once the process is stopping.
pub(crate) fn creating() -> std::io::Result<Creating> {
    let mut state = state();
    if state.closed {
        return Err(interrupted());
    }
    state.creating += 1;
    Ok(Creating(()))
}

/// Registers `path`, a temporary file just created; an `Interrupted` error
/// after [`remove_temp_files`].
pub(crate) fn register(path: &Path) -> std::io::Result<Registration> {
    let mut state = state();
    if state.closed {
        return Err(interrupted());
    }
    let id = state.next_id;
    state.next_id += 1;
    state.files.push((id, path.to_path_buf()));
    Ok(Registration { id })
}

impl Registration {
    /// Runs `rename` (which moves the temporary file into place) unless the
    /// process is stopping, with the list locked, so that a clean-up never
    /// races a rename; the file is unregistered either way.
    pub(crate) fn finish<T>(
        self,
        rename: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let state = state();
        if state.closed {
            return Err(interrupted());
        }
        let result = rename();
        drop(state);
        // `self` drops here and unregisters (taking the lock again).
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        state().files.retain(|(id, _)| *id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_registered(path: &Path) -> bool {
        state().files.iter().any(|(_, p)| p == path)
    }

    // `remove_temp_files` closes the list for the whole process, so it is
    // tested from the command line (tests/cli.rs, signals), not here.

    #[test]
    fn a_registration_lasts_until_it_is_dropped_or_finished() {
        let a = Path::new("/nonexistent/.impasto-a.tmp");
        let b = Path::new("/nonexistent/.impasto-b.tmp");
        let ra = register(a).unwrap();
        let rb = register(b).unwrap();
        assert!(is_registered(a) && is_registered(b));
        drop(ra);
        assert!(!is_registered(a) && is_registered(b));
        let ran = rb.finish(|| Ok(7)).unwrap();
        assert_eq!(ran, 7);
        assert!(!is_registered(b));
    }
}
