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
#[path = "../e2e/screen.rs"]
#[allow(dead_code)]
mod screen;
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
    // Only the frame measures, for trying a change to the table quickly.
    if std::env::var_os("LICENTRIC_BENCH_FRAMES_ONLY").is_some() {
        app.go("/licenses");
        app.session
            .wait_for("[data-testid=licenses-row]", Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(1500));
        frame_measures(&app);
        return;
    }
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

    frame_measures(&app);

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

/// Frame times in the web view, and what they are made of. Standing still, nothing is
/// drawn and frames come at the display's rate: that is not the floor of a frame that
/// draws. Two frames that draw almost nothing of the console's — a 4 px dot changing
/// colour, a plain scrolling `div` of static text — give the cost of drawing any frame at
/// all in this web view; the table's scrolling is compared to those. Then the script and
/// layout of one scroll step alone (the table's own work, without the drawing).
fn frame_measures(app: &App) {
    frames(app, "standing still (nothing drawn)", "");
    app.session.execute(
        "const dot = document.createElement('div'); dot.id = 'bench-dot';
         dot.style.cssText = 'position:fixed;left:0;top:0;width:4px;height:4px;z-index:99;background:red';
         document.body.appendChild(dot);
         const plain = document.createElement('div'); plain.id = 'bench-plain';
         plain.style.cssText = 'position:fixed;left:250px;top:150px;width:800px;height:500px;overflow:auto;z-index:98;background:white;font:14px sans-serif';
         plain.innerHTML = Array.from({ length: 3000 }, (_, i) => `<div style=\"height:42px\">row ${i} lorem ipsum dolor sit amet</div>`).join('');
         document.body.appendChild(plain);
         return true;",
    );
    std::thread::sleep(Duration::from_millis(800));
    frames(
        app,
        "a 4 px dot changing colour in each frame (the cost of drawing any frame)",
        "document.getElementById('bench-dot').style.background = n % 2 ? 'red' : 'blue';",
    );
    frames(
        app,
        "a plain scrolling div of static text, 120 px a frame (no script, no table)",
        "document.getElementById('bench-plain').scrollTop += 120;",
    );
    app.session.execute(
        "document.getElementById('bench-plain').remove(); document.getElementById('bench-dot').remove(); return true;",
    );
    std::thread::sleep(Duration::from_millis(800));
    frames(
        app,
        "scrolling the licenses table, 120 px a frame (more pages load on the way)",
        "document.querySelector('.table-scroll').scrollTop += 120;",
    );
    scroll_step_cost(app);
}

/// 240 animation frames (fewer if they take over 20 s), running `each` in each (`n`
/// counts them); a frame longer than 25 ms (1.5 × 16.7) counts as dropped.
fn frames(app: &App, label: &str, each: &str) {
    let frames = app.session.execute_async(&format!(
        "const done = arguments[arguments.length - 1];
         const times = [];
         const begin = performance.now();
         let last = begin;
         let n = 0;
         function step(now) {{
           times.push(now - last); last = now; n += 1;
           {each}
           // Within the script timeout (30 s) however slow the frames are.
           if (n < 240 && now - begin < 20000) requestAnimationFrame(step); else done(times);
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
        "| frame time, {label} | {} frames | {:.0} | {:.0}; {dropped} over 25 ms | no dropped frames |",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

/// Where a scroll step's time goes: the script and layout it costs in the web view (the
/// table's re-render on the scroll event, then a forced layout), without the drawing. 120
/// steps of 120 px from the top, each timed on its own.
fn scroll_step_cost(app: &App) {
    let answer = app.session.execute(
        "const scroller = document.querySelector('.table-scroll');
         scroller.scrollTop = 0;
         scroller.dispatchEvent(new Event('scroll'));
         const times = [];
         let rows = 0;
         const seen = new MutationObserver((records) => {
           for (const r of records) rows += [...r.addedNodes].filter((n) => n.nodeName === 'TR').length;
         });
         seen.observe(scroller.querySelector('tbody'), { childList: true });
         for (let i = 0; i < 120; i++) {
           const start = performance.now();
           scroller.scrollTop += 120;
           scroller.dispatchEvent(new Event('scroll'));
           void document.body.offsetHeight;
           void scroller.querySelector('tbody tr:last-child').getBoundingClientRect();
           times.push(performance.now() - start);
         }
         seen.disconnect();
         const heights = [...scroller.querySelectorAll('tbody tr[data-index]')].map((r) => r.getBoundingClientRect().height);
         return { times, rows, shown: scroller.querySelectorAll('tbody tr[data-index]').length, heights: [Math.min(...heights), Math.max(...heights)] };",
    );
    let mut times: Vec<f64> = answer["times"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "| script + layout of one scroll step (no drawing; {} rows entered in 120 steps, {} rows in the DOM, each {}–{} px) | 120 steps | {:.1} | {:.1} | — |",
        answer["rows"],
        answer["shown"],
        answer["heights"][0],
        answer["heights"][1],
        times[times.len() / 2],
        times[times.len() - 1],
    );
}
