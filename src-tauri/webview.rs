//! How the app's web views are set up beyond what Tauri configures: lighter than a
//! browser's, since they show the app's own few pages and nothing else (issue 16: memory
//! after a minute idle, launch to the License view painted).

/// Turns off what a browser needs and these pages do not. Linux (WebKitGTK) only; on other
/// platforms nothing changes.
pub fn lighten<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(error) = window.with_webview(|webview| {
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let webview = webview.inner();
        if let Some(settings) = WebViewExt::settings(&webview) {
            // No GPU compositing: these pages are forms and small charts, which the CPU
            // draws at once. With it, WebKit keeps GL surfaces and, on machines without a
            // GPU driver (software GL, as under Xvfb), runs a GL rasteriser in the web
            // process: about 100 MB more and a slower first frame.
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
        if let Some(context) = webview.context() {
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
