//! The dashboard: its charts drawn from real activity (validations, activations and a
//! deactivation made through the SDK), empty before there is any, and the licenses
//! expiring soon one click from the filtered licenses list.

use std::time::Duration;

use licentric_core::wire::NewLicense;

use crate::{
    console_support::connect,
    harness::{App, Launch, TestServer, UI_TIMEOUT},
};

/// Some days of use: machines activated (one deactivated again), validations that pass
/// and fail, and licenses that expire within a week.
fn make_activity(server: &TestServer) {
    let key = &server.demo.license_key;
    for n in 1..=3 {
        server.activate_elsewhere(
            &format!("dash-fingerprint-{n}"),
            &format!("Workstation {n}"),
        );
    }
    let public = licentric_client::Licentric::builder()
        .base_url(server.url())
        .build()
        .unwrap();
    server.block_on(async {
        for _ in 0..6 {
            public
                .validate(key, Some("dash-fingerprint-1"), &[])
                .await
                .unwrap();
        }
        for _ in 0..2 {
            public
                .validate(key, Some("never-activated-here"), &[])
                .await
                .unwrap();
        }
    });
    let admin = server.admin();
    server.block_on(async {
        let machines = admin
            .list_machines(
                &licentric_client::ListParams::new()
                    .filter("licenseId", server.demo.license_id.clone()),
            )
            .await
            .unwrap();
        admin.delete_machine(&machines.data[0].id).await.unwrap();
        for name in ["Renewal due: Initech", "Renewal due: Globex"] {
            admin
                .create_license(&NewLicense {
                    policy_id: server.demo.policy_id.clone(),
                    name: Some(name.into()),
                    key: None,
                    expires_at: Some(Some(chrono::Utc::now() + chrono::Duration::days(5))),
                    metadata: None,
                    entitlements: vec![],
                })
                .await
                .unwrap();
        }
    });
}

/// How many times the dashboard has drawn its charts (each load, each theme change).
fn draws(app: &App) -> u64 {
    let element = app.session.wait_for("[data-testid=dashboard]", UI_TIMEOUT);
    app.session
        .attribute(&element, "data-charts-drawn")
        .parse()
        .unwrap_or(0)
}

/// Waits until the charts were drawn more than `before` times.
fn wait_drawn_after(app: &App, before: u64) {
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    while draws(app) <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the charts were not drawn again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text_of(app: &App, css: &str) -> String {
    app.session.text(&app.session.wait_for(css, UI_TIMEOUT))
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_dashboard_draws_its_charts_and_links_to_licenses_expiring_soon() {
    let server = TestServer::start();
    make_activity(&server);
    let mut app = App::launch(
        "console-dashboard",
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    app.wait_text("[data-testid=env-label]", "LIVE");

    // The built-in local server has had no activity: an empty state, not empty axes.
    app.go("/");
    app.wait_text(
        "[data-testid=dashboard-empty]",
        "No activity in this range yet",
    );
    app.screenshot_both_themes("empty");

    connect(&app, &server);
    app.go("/");
    app.session
        .wait_for("[data-testid=chart-validations] canvas", UI_TIMEOUT);
    app.session
        .wait_for("[data-testid=chart-activations] canvas", UI_TIMEOUT);
    app.session
        .wait_for("[data-testid=chart-active] canvas", UI_TIMEOUT);
    wait_drawn_after(&app, 0);
    std::thread::sleep(Duration::from_millis(300));

    // The figures are the activity's.
    let validations = text_of(&app, "[data-testid=tile-validations]");
    assert!(validations.contains('8'), "{validations}");
    assert!(validations.contains("75% valid"), "{validations}");
    let activations = text_of(&app, "[data-testid=tile-activations]");
    assert!(
        activations.contains('3') && activations.contains("1 deactivated"),
        "{activations}"
    );
    assert!(text_of(&app, "[data-testid=tile-active]").contains('2'));
    // The legend names the outcomes that occurred, in words.
    let legend = text_of(&app, "[data-testid=chart-validations]");
    assert!(legend.contains("Valid"), "{legend}");
    assert!(text_of(&app, "[data-testid=seats]").contains("Demo App"));
    assert!(text_of(&app, "[data-testid=expiring-7]").starts_with('2'));

    // The time to draw is recorded for the benchmarks.
    let measured = app
        .session
        .execute("return performance.getEntriesByName('dashboard-charts').map((m) => m.duration);");
    let loads = measured.as_array().expect("measures").len();
    assert!(loads > 0, "no dashboard-charts measure");
    eprintln!("dashboard-charts: {measured} ms");
    app.screenshot_both_themes("charts");

    // 90 days, for one product.
    let before = draws(&app);
    app.click("[data-testid=range-90]");
    wait_drawn_after(&app, before);
    let before = draws(&app);
    app.click("[data-testid=dashboard-product] option:nth-child(2)");
    wait_drawn_after(&app, before);
    assert!(text_of(&app, "[data-testid=seats]").contains("Demo App"));
    // One measure per load (90 days, then one product); theme switches add none.
    // (A measure is recorded on the frame after its charts are drawn: allow for that frame.)
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    let measures = loop {
        let measures = app.session.execute(
            "return performance.getEntriesByName('dashboard-charts').map((m) => Math.round(m.duration));",
        );
        let count = measures.as_array().map_or(0, Vec::len);
        if count >= loads + 2 || std::time::Instant::now() > deadline {
            break measures;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("dashboard-charts: {measures} ms");
    assert_eq!(
        measures.as_array().map(Vec::len),
        Some(loads + 2),
        "{measures}"
    );
    app.screenshot_both_themes("charts-90-days-one-product");
    app.assert_usable_at(1024, 700);
    app.screenshot("charts-1024x700");
    app.session.set_window_size(1280, 800);

    // Licenses expiring within 7 days: the list opens with that filter in the route.
    app.click("[data-testid=expiring-7]");
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    let href = loop {
        let href = app.session.execute("return location.href;");
        let href = href.as_str().unwrap_or_default().to_owned();
        if href.contains("#/licenses") {
            break href;
        }
        assert!(std::time::Instant::now() < deadline, "still at {href}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(href.contains("status=active"), "{href}");
    assert!(href.contains("expiresBefore="), "{href}");
    let nav = app
        .session
        .wait_for("[data-testid=nav-licenses]", UI_TIMEOUT);
    assert_eq!(app.session.attribute(&nav, "aria-current"), "page");
    app.screenshot("expiring-licenses");
}
