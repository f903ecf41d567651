//! How the app's web views are set up beyond what Tauri configures: lighter than a
//! browser's, since they show the app's own few pages and nothing else (issue 16: memory
//! after a minute idle).

/// Called first thing in `run()`, before GTK and WebKit start (so with no other thread
/// yet), to set what must be in the environment of the app and of the WebKit processes it
/// starts, unless the user set it already. Linux only.
///
/// Both are about software GL (llvmpipe, as on machines without a GPU driver and under
/// Xvfb), where GPU painting only costs memory; the pages are small and mostly text
/// (issue 16, memory after a minute idle; docs/benchmarks.md, third and fifth runs):
/// - WebKit paints the pages with Skia on the CPU instead of with GL: without it the web
///   process kept ~55 MB more of GL surfaces;
/// - WebKit's DMA-BUF renderer is off: the web process hands the UI process plain
///   shared-memory bitmaps instead of GL buffers, and keeps ~45 MB less (web process 157 →
///   113 MB in a debug build). WebKitGTK 2.50's WebDriver screenshots do not work in this
///   mode, so the end-to-end tests take theirs from the X display (tests/e2e/screen.rs).
///   Its cost: in about 4 launches of 10 the page starts ~0.57 s after the window instead
///   of ~0.1 s (launch medians still under 1 s; fifth run). Remove it here to trade the
///   memory back for steady launches.
pub fn prepare_environment() {
    #[cfg(target_os = "linux")]
    for (name, value) in [
        ("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1"),
        ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
    ] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

/// Turns off what a browser needs and these pages do not. Linux (WebKitGTK) only; on other
/// platforms nothing changes.
///
/// The hardware acceleration policy is left as it is: with the DMA-BUF renderer off
/// (above), the web process is as small as with compositing off (`Never`).
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
