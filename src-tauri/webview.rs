//! How the app's web views are set up beyond what Tauri configures: lighter than a
//! browser's, since they show the app's own few pages and nothing else (issue 16: memory
//! after a minute idle).

/// Called first thing in `run()`, before GTK and WebKit start (so with no other thread
/// yet), to set what must be in the environment of the app and of the WebKit processes it
/// starts, unless the user set it already. Linux only.
///
/// WebKit paints the pages with Skia on the CPU instead of with GL: the pages are small
/// and mostly text, and without it, under software GL (llvmpipe, as on machines without a
/// GPU driver and under Xvfb), the web process kept ~55 MB more of GL surfaces after a
/// minute idle (issue 16, third run in docs/benchmarks.md). Compositing stays on: with it
/// off the web process is smaller still, but WebKitGTK 2.50's WebDriver screenshots never
/// answer, so the end-to-end tests could not run the app as it ships.
pub fn prepare_environment() {
    #[cfg(target_os = "linux")]
    for (name, value) in [("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1")] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

/// Turns off what a browser needs and these pages do not. Linux (WebKitGTK) only; on other
/// platforms nothing changes.
///
/// GPU compositing stays on, though turning it off (hardware acceleration policy `Never`,
/// or `WEBKIT_DISABLE_COMPOSITING_MODE=1`) halved the web process under Xvfb (216 → 115 MB
/// PSS): with it off, WebKitGTK 2.50's WebDriver screenshots never answer, so the
/// end-to-end tests could no longer run the app as it ships.
pub fn lighten<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(error) = window.with_webview(|webview| {
        use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
        if let Some(context) = webview.inner().context() {
            // Pages are the app's own, served from the binary: no memory cache sized for
            // browsing the web.
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    }) {
        tracing::warn!(%error, "the web view's settings could not be applied");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
