//! Issue 16's launch time, measured in the real release app (not asserted): from the
//! process's start (its start time in /proc) to the License view painted (the
//! `license-view-painted` mark the UI sets in the frame after the one that drew the
//! status), read through WebDriver, for a new user (fresh data folder, local server).
//!
//! Each launch is split where the time goes: from the app's log (ms after its `run()`
//! began: window created, connection open, i.e. the local server started, page loaded)
//! and from the web view's own clock (navigation began, the page's DOM ready, painted),
//! those three counted from the process's start like the total.
//!
//! A recorded run, not a test: `scripts/bench-ship` runs this with `--ignored` and the
//! release binary in `LICENTRIC_BENCH_APP`; `scripts/test` never does.

#![allow(clippy::unwrap_used)]

#[path = "../e2e/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../e2e/webdriver.rs"]
#[allow(dead_code)]
mod webdriver;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use harness::{App, Launch};

/// When the process running `binary` started, in ms since the epoch (10 ms resolution:
/// /proc counts clock ticks).
fn process_start_ms(binary: &Path) -> f64 {
    let pid = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            (std::fs::read_link(entry.path().join("exe")).ok()? == binary)
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .next()
        .unwrap_or_else(|| panic!("no process runs {}", binary.display()));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name in parentheses; starttime is field 22 overall.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let ticks: f64 = after.split(' ').nth(19).unwrap().parse().unwrap();
    let boot: f64 = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let hz: f64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    (boot + ticks / hz) * 1000.0
}

/// `text` without the terminal's colour codes (the app's log has them).
fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
#[ignore = "a recorded benchmark: run scripts/bench-ship"]
fn launch_to_the_license_view_painted() {
    let binary = PathBuf::from(
        std::env::var("LICENTRIC_BENCH_APP").expect("LICENTRIC_BENCH_APP: run scripts/bench-ship"),
    );
    let runs: usize = std::env::var("LICENTRIC_BENCH_LAUNCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let mut samples = Vec::new();
    for run in 0..runs {
        let app = App::launch(
            &format!("bench-launch-{run}"),
            Launch {
                binary: Some(binary.clone()),
                ..Launch::default()
            },
        );
        app.session
            .wait_for("[data-testid=status-label]", Duration::from_secs(60));
        let deadline = Instant::now() + Duration::from_secs(60);
        let marks = loop {
            let found = app.session.execute(
                "const m = performance.getEntriesByName('license-view-painted');
                 const n = performance.getEntriesByType('navigation')[0];
                 return m.length ? [performance.timeOrigin, n ? n.domContentLoadedEventEnd : 0,
                                    m[0].startTime] : null;",
            );
            if let Some(marks) = found.as_array() {
                break marks
                    .iter()
                    .map(|m| m.as_f64().unwrap())
                    .collect::<Vec<_>>();
            }
            assert!(Instant::now() < deadline, "the License view set no mark");
            std::thread::sleep(Duration::from_millis(20));
        };
        let started = process_start_ms(&binary);
        let (origin, dom_ready, painted) = (marks[0] - started, marks[1], marks[2]);
        let launch = origin + painted;
        let log = std::fs::read_to_string(
            harness::artifacts_dir().join(format!("logs/bench-launch-{run}.log")),
        )
        .unwrap_or_default();
        let log = without_colours(&log);
        let logged = |what: &str| {
            log.lines()
                .find(|l| l.contains(&format!("launch: {what}")))
                .and_then(|l| l.split("after_ms=").nth(1))
                .and_then(|ms| ms.split_whitespace().next())
                .map_or_else(|| "?".to_owned(), |ms| format!("{ms} ms"))
        };
        println!(
            "launch {run}: {launch:.0} ms from process start to the License view painted \
             (app log, after run(): window created {}, connection open {}, page loaded {}; \
             web view, after process start: navigation {origin:.0} ms, DOM ready {:.0} ms, \
             painted {launch:.0} ms)",
            logged("window created"),
            logged("connection open"),
            logged("page loaded"),
            origin + dom_ready,
        );
        samples.push(launch);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "launch to License view painted: median {:.0} ms, best {:.0} ms, worst {:.0} ms ({} launches)",
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    );
}
