//! Issue 11's console performance, measured in the real app (not asserted): the licenses
//! list on screen after navigation and after a search settles, scrolling through the
//! table, and the dashboard's charts, read from the marks the UI records
//! (`performance.measure`) and from frame times sampled in the web view.
//!
//! A recorded run, not a test: `scripts/bench-console` starts a release server on a copy of
//! the seeded 100,000-license database and runs this with `--ignored`; `scripts/test` never
//! does. Results are printed as Markdown rows for docs/benchmarks.md.

#![allow(clippy::unwrap_used)]

#[path = "../e2e/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../e2e/webdriver.rs"]
#[allow(dead_code)]
mod webdriver;

use std::time::{Duration, Instant};

use harness::{App, Launch};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/bench-console"))
}

/// Clears the measures, runs `action`, waits for `css` and then for a measure whose name
/// contains `name`; answers that measure's duration in ms.
fn measured(app: &App, name: &str, css: &str, action: impl FnOnce()) -> f64 {
    app.session
        .execute("performance.clearMeasures(); return true;");
    action();
    app.session.wait_for(css, Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = app.session.execute(&format!(
            "const m = performance.getEntriesByType('measure').filter((e) => e.name.includes({}));
             return m.length ? m[m.length - 1].duration : null;",
            serde_json::json!(name)
        ));
        if let Some(ms) = found.as_f64() {
            return ms;
        }
        assert!(Instant::now() < deadline, "no measure named like {name}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn summary(label: &str, samples: &mut [f64], target: &str) {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    println!(
        "| {label} | {} | {median:.0} | {worst:.0} | {target} |",
        samples.len()
    );
}

#[test]
#[ignore = "a recorded benchmark: run scripts/bench-console"]
fn console_at_100k_licenses() {
    let server = var("LICENTRIC_BENCH_SERVER_URL");
    let api_key = var("LICENTRIC_BENCH_API_KEY");
    let fragment = var("LICENTRIC_BENCH_KEY_FRAGMENT");
    let email = var("LICENTRIC_BENCH_EMAIL");
    let app = App::launch(
        "console-bench",
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    app.wait_text("[data-testid=env-label]", "LIVE");
    app.go("/connections");
    app.type_in("[data-testid=connection-name]", "Seeded 100k");
    app.type_in("[data-testid=connection-url]", &server);
    app.type_in("[data-testid=connection-key]", &api_key);
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=env-connection]", "Seeded 100k");

    println!("| what | runs | median ms | worst ms | target |");
    println!("|---|---|---|---|---|");
    let rows = "[data-testid=licenses-row]";
    let mut navigation = Vec::new();
    for _ in 0..7 {
        app.go("/machines");
        std::thread::sleep(Duration::from_millis(400));
        navigation.push(measured(&app, "licenses-list", rows, || {
            app.go("/licenses")
        }));
    }
    summary(
        "licenses list on screen after navigation",
        &mut navigation,
        "≤ 300 ms",
    );

    let search = "[data-testid=license-search]";
    for (label, text) in [
        ("key fragment", fragment.as_str()),
        ("customer e-mail", email.as_str()),
    ] {
        let mut settled = Vec::new();
        for _ in 0..5 {
            app.type_in(search, " ");
            std::thread::sleep(Duration::from_millis(600));
            settled.push(measured(&app, "licenses-list", rows, || {
                app.type_in(search, text)
            }));
        }
        summary(
            &format!("licenses list after a search settles ({label}; the debounce not counted)"),
            &mut settled,
            "≤ 300 ms",
        );
    }
    app.type_in(search, " ");
    std::thread::sleep(Duration::from_millis(1500));

    frame_times(&app, "standing still (the web view's own frame time)", 0);
    frame_times(&app, "scrolling the licenses table", 120);

    let mut charts = Vec::new();
    for _ in 0..5 {
        app.go("/licenses");
        std::thread::sleep(Duration::from_millis(400));
        charts.push(measured(&app, "dashboard", ".uplot", || app.go("/")));
    }
    summary(
        "dashboard charts drawn after navigation",
        &mut charts,
        "≤ 500 ms",
    );
}

/// 240 animation frames with the table scrolled by `step` px in each (more pages load on
/// the way); a frame longer than 25 ms (1.5 × 16.7) counts as dropped.
fn frame_times(app: &App, label: &str, step: u32) {
    let frames = app.session.execute_async(&format!(
        "const done = arguments[arguments.length - 1];
         const scroller = document.querySelector('.table-scroll');
         const times = [];
         let last = performance.now();
         let n = 0;
         function step(now) {{
           times.push(now - last); last = now; n += 1;
           scroller.scrollTop += {step};
           if (n < 240) requestAnimationFrame(step); else done(times);
         }}
         requestAnimationFrame(step);"
    ));
    let mut times: Vec<f64> = frames
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .filter_map(serde_json::Value::as_f64)
        .collect();
    let dropped = times.iter().filter(|t| **t > 25.0).count();
    times.sort_by(f64::total_cmp);
    println!(
        "| {label}, 240 frames | 1 | {:.1} per frame | {:.1} per frame; {dropped} frames over 25 ms | no dropped frames |",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
