//! Stage reporting for long operations (compile's synthesis, setup, prove).
//!
//! The pipeline marks where each stage begins with [`stage`]; the marks go
//! to the [`Log`] that the caller installed on this thread with
//! [`reporting`] (the Python bindings install one per call when asked), and
//! are dropped when none is installed. Another thread (the CLI's progress
//! display) may read the log at any time: the current stage and how long it
//! has run, and each finished stage's seconds and the process's peak RSS at
//! its end.
//!
//! Stages are marked on the thread that runs the operation, never from
//! inside a parallel section, so the order is the pipeline's.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A finished stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: &'static str,
    pub seconds: f64,
    /// The process's peak resident set size when the stage ended (0 where
    /// the platform does not say).
    pub peak_rss_bytes: u64,
}

#[derive(Default)]
struct State {
    done: Vec<Stage>,
    current: Option<(&'static str, Instant)>,
}

/// The stages of one operation, shared between the thread that runs it and
/// any thread that watches it.
#[derive(Default)]
pub struct Log {
    state: Mutex<State>,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the state half-written: every update is one push or swap.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the current stage (if any) and starts `name`; a no-op when
    /// `name` is already the current stage.
    pub fn enter(&self, name: &'static str) {
        let mut s = self.lock();
        if matches!(s.current, Some((n, _)) if n == name) {
            return;
        }
        let now = Instant::now();
        if let Some((n, t)) = s.current.take() {
            s.done.push(Stage { name: n, seconds: (now - t).as_secs_f64(), peak_rss_bytes: peak_rss_bytes() });
        }
        s.current = Some((name, now));
    }

    /// Ends the current stage, if any.
    pub fn finish(&self) {
        let mut s = self.lock();
        if let Some((n, t)) = s.current.take() {
            s.done.push(Stage { name: n, seconds: t.elapsed().as_secs_f64(), peak_rss_bytes: peak_rss_bytes() });
        }
    }

    /// The stage running now and its seconds so far.
    pub fn current(&self) -> Option<(&'static str, f64)> {
        self.lock().current.map(|(n, t)| (n, t.elapsed().as_secs_f64()))
    }

    /// The finished stages, in order.
    pub fn stages(&self) -> Vec<Stage> {
        self.lock().done.clone()
    }
}

thread_local! {
    static SINK: RefCell<Option<Arc<Log>>> = const { RefCell::new(None) };
}

/// Marks the start of stage `name` of the operation running on this thread.
pub fn stage(name: &'static str) {
    SINK.with(|s| {
        if let Some(log) = s.borrow().as_ref() {
            log.enter(name)
        }
    })
}

/// Runs `f` with its stages going to `log`; the last stage ends when `f`
/// returns (or unwinds). The log installed before, if any, is restored.
pub fn reporting<T>(log: Arc<Log>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<Log>>, Arc<Log>);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.1.finish();
            let previous = self.0.take();
            SINK.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SINK.with(|s| s.borrow_mut().replace(log.clone()));
    let _restore = Restore(previous, log);
    f()
}

/// The process's peak resident set size so far, in bytes (`getrusage`'s
/// `ru_maxrss`: KiB on Linux, bytes on macOS); 0 elsewhere.
pub fn peak_rss_bytes() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return 0;
        }
        let max = usage.ru_maxrss.max(0) as u64;
        if cfg!(target_os = "macos") {
            max
        } else {
            max * 1024
        }
    }
    #[cfg(not(unix))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_recorded_in_order_only_while_reporting() {
        stage("ignored");
        let log = Arc::new(Log::default());
        let inner = Arc::new(Log::default());
        let got = reporting(log.clone(), || {
            stage("one");
            stage("one"); // still the same stage
            assert_eq!(log.current().map(|c| c.0), Some("one"));
            reporting(inner.clone(), || stage("nested"));
            stage("two");
            7
        });
        assert_eq!(got, 7);
        stage("after");
        let names: Vec<_> = log.stages().iter().map(|s| s.name).collect();
        assert_eq!(names, ["one", "two"]);
        assert_eq!(inner.stages().iter().map(|s| s.name).collect::<Vec<_>>(), ["nested"]);
        assert!(log.current().is_none());
        assert!(log.stages().iter().all(|s| s.seconds >= 0.0));
        if cfg!(unix) {
            assert!(log.stages()[1].peak_rss_bytes > 1 << 20);
        }
    }

    #[test]
    fn a_panic_ends_the_stage_and_uninstalls_the_log() {
        let log = Arc::new(Log::default());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reporting(log.clone(), || {
                stage("boom");
                panic!("test");
            })
        }));
        assert!(caught.is_err());
        stage("after");
        assert_eq!(log.stages().iter().map(|s| s.name).collect::<Vec<_>>(), ["boom"]);
    }
}
