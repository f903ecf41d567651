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
///   Like compositing off, it made the page start ~0.6 s late in about 4 launches of 10
///   when the window was shown before its page had loaded; windows are therefore shown
///   once it has ([`reveal`]).
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

/// How long a window waits hidden for its page: one that never loads is shown anyway.
const SHOW_AT_THE_LATEST: std::time::Duration = std::time::Duration::from_secs(2);

/// Shows `window`, created hidden (`visible(false)`), once its page has loaded: call it
/// from the window's `on_page_load` for `Finished`; [`reveal_at_the_latest`] covers a
/// page that never loads. Without compositing (above), WebKitGTK 2.50 stalled ~0.6 s in
/// 5 launches of 12 when the web view was mapped while its web process was starting (the
/// page started 0.60–0.64 s after the window instead of 0.1 s); shown after the page has
/// loaded, 0 of 12 (docs/benchmarks.md, "Shipping … sixth run").
pub fn reveal<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    if !window.is_visible().unwrap_or(false) {
        if let Err(error) = window.show() {
            tracing::warn!(%error, window = window.label(), "the window could not be shown");
        }
    }
}

/// Builds `builder`'s window the way every window of the app opens: hidden, lightened
/// ([`lighten`]), and shown once its page has loaded ([`reveal`]) or after
/// [`SHOW_AT_THE_LATEST`] ([`reveal_at_the_latest`]). The page's start and load are
/// launch marks (the first window's are the launch's).
pub fn open_when_loaded<R: tauri::Runtime, M: tauri::Manager<R>>(
    builder: tauri::WebviewWindowBuilder<'_, R, M>,
) -> tauri::Result<()> {
    let window = builder
        .visible(false)
        .on_page_load(|window, payload| match payload.event() {
            tauri::webview::PageLoadEvent::Started => crate::launch::mark("page started"),
            tauri::webview::PageLoadEvent::Finished => {
                crate::launch::mark("page loaded");
                reveal(&window);
            }
        })
        .build()?;
    lighten(&window);
    reveal_at_the_latest(window);
    Ok(())
}

/// Shows `window` after [`SHOW_AT_THE_LATEST`] if its page has not loaded by then.
pub fn reveal_at_the_latest<R: tauri::Runtime>(window: tauri::WebviewWindow<R>) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SHOW_AT_THE_LATEST).await;
        if !window.is_visible().unwrap_or(true) {
            tracing::warn!(
                window = window.label(),
                "the page did not load in time; showing its window anyway"
            );
            reveal(&window);
        }
    });
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
