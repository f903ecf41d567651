//! Where a launch's time goes (issue 16: launch to the License view painted under 1 s).
//!
//! The app logs `launch: <step> since_start_ms=N` at each step: `run` (the process's
//! libraries are loaded and `main` has begun), `window created`, `connection open` (the
//! local server started), `page loaded`, and `painted` (the License view says, through
//! the `launch_painted` command, that the frame after the one that drew the status is
//! done). `N` counts from the process's start as the kernel recorded it (`/proc/self/stat`,
//! 10 ms resolution), so the time the dynamic loader spends before `main` is in it;
//! `scripts/bench-ship` reads these lines from the release app's log.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        OnceLock,
    },
    time::{Duration, Instant},
};

/// When `run()` began, and how long the process had been running by then.
static STARTED: OnceLock<(Instant, Duration)> = OnceLock::new();
static PAINTED: AtomicBool = AtomicBool::new(false);

/// Clock ticks a second in `/proc` (`USER_HZ`): 100 on every Linux architecture Tauri
/// supports.
const TICKS_PER_SECOND: f64 = 100.0;

/// How long this process has been running, from `/proc` (Linux); `None` elsewhere.
fn process_age() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (in parentheses, which may hold spaces):
    // starttime is the 22nd field overall, the 20th after the name.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let started: f64 = after.split(' ').nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(
        (uptime - started / TICKS_PER_SECOND).max(0.0),
    ))
}

/// Called first thing in `run()`: remembers when the launch began.
pub fn begin() {
    STARTED.get_or_init(|| (Instant::now(), process_age().unwrap_or_default()));
}

/// Milliseconds from the process's start to now.
pub fn since_start_ms() -> u128 {
    let (at, age) = STARTED.get_or_init(|| (Instant::now(), process_age().unwrap_or_default()));
    (*age + at.elapsed()).as_millis()
}

/// Logs that the launch reached `step`.
pub fn mark(step: &str) {
    tracing::info!(since_start_ms = since_start_ms(), "launch: {step}");
}

/// Logs `launch: painted`, the first time only (a reloaded page does not launch again).
pub fn painted() {
    if !PAINTED.swap(true, Ordering::SeqCst) {
        mark("painted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_has_an_age_and_it_grows() {
        let age = process_age().expect("/proc/self/stat and /proc/uptime are readable");
        // This test process started before now, and not days ago.
        assert!(age < Duration::from_secs(24 * 3600), "{age:?}");
        begin();
        let first = since_start_ms();
        std::thread::sleep(Duration::from_millis(30));
        assert!(since_start_ms() >= first + 30);
    }
}
