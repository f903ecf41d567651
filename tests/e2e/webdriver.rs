//! A small W3C WebDriver client: just the calls the end-to-end tests make.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::screen::Rect;

/// The key under which W3C WebDriver returns element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// W3C key codes for [`Session::press`].
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";

/// An open WebDriver session.
pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
}

impl Session {
    /// A session that is not open yet; every call on it fails.
    pub fn unconnected() -> Self {
        Self {
            http: reqwest::blocking::Client::new(),
            base: "http://127.0.0.1:9/unconnected".to_owned(),
        }
    }

    /// Opens a session of the app at `application` through the driver at `driver_url`.
    pub fn create(driver_url: &str, application: &str) -> Result<Self, String> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        // No browserName: tauri-driver reports "wry" and WebKitGTK rejects names that differ.
        let body = json!({
            "capabilities": { "alwaysMatch": { "tauri:options": { "application": application } } }
        });
        let response: Value = http
            .post(format!("{driver_url}/session"))
            .json(&body)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("creating the session failed: {e}"))?;
        let id = response["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {response}"))?;
        Ok(Self {
            http,
            base: format!("{driver_url}/session/{id}"),
        })
    }

    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let value: Value = response.json().map_err(|e| format!("{path}: {e}"))?;
        if status.is_success() {
            Ok(value["value"].clone())
        } else {
            Err(format!("{path}: HTTP {status}: {}", value["value"]))
        }
    }

    /// The first element matching a CSS selector, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        self.send(
            reqwest::Method::POST,
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .ok()
        .and_then(|v| v[ELEMENT_KEY].as_str().map(str::to_owned))
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.find(css) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no element matches {css:?} after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The visible text of an element.
    pub fn text(&self, element: &str) -> String {
        self.send(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .map(|v| match v {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .unwrap_or_default()
    }

    /// A DOM property of an element, e.g. an input's `value`.
    pub fn property(&self, element: &str, name: &str) -> String {
        self.send(
            reqwest::Method::GET,
            &format!("/element/{element}/property/{name}"),
            None,
        )
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
    }

    /// Whether an element is enabled (a form control without `disabled`); an element that
    /// is gone counts as enabled, so the click that follows reports it.
    pub fn is_enabled(&self, element: &str) -> bool {
        self.send(
            reqwest::Method::GET,
            &format!("/element/{element}/enabled"),
            None,
        )
        .map_or(true, |v| v.as_bool() != Some(false))
    }

    /// An attribute of an element, or empty when it has none.
    pub fn attribute(&self, element: &str, name: &str) -> String {
        self.send(
            reqwest::Method::GET,
            &format!("/element/{element}/attribute/{name}"),
            None,
        )
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
    }

    /// Waits until the element matching `css` shows text for which `done` holds; returns it.
    pub fn wait_for_text(
        &self,
        css: &str,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Some(element) = self.find(css) {
                last = self.text(&element);
                if done(&last) {
                    return last;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{css:?} never showed the expected text within {timeout:?}; last seen: {last:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clears an input and types `text` into it, as a person would.
    pub fn type_into(&self, element: &str, text: &str) {
        self.send(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .expect("clear");
        self.send(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .expect("send keys");
    }

    /// Presses keys on whatever has the focus, as a keyboard-only user does. WebDriver
    /// key codes work: `TAB`, `ENTER`, `SHIFT`…
    pub fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                let key = c.to_string();
                [
                    json!({ "type": "keyDown", "value": key }),
                    json!({ "type": "keyUp", "value": key }),
                ]
            })
            .collect();
        self.send(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .expect("key actions");
    }

    /// Presses `key` while holding `modifier` (e.g. Shift+Tab), on whatever has the focus.
    pub fn chord(&self, modifier: &str, key: &str) {
        let actions = json!([
            { "type": "keyDown", "value": modifier },
            { "type": "keyDown", "value": key },
            { "type": "keyUp", "value": key },
            { "type": "keyUp", "value": modifier },
        ]);
        self.send(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .expect("key actions");
    }

    /// Clicks an element.
    pub fn click(&self, element: &str) {
        self.send(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .expect("click");
    }

    /// Waits until the latest DOM changes are painted: two animation frames. Screenshots
    /// are taken from the X display after this (`screen.rs`): WebKitGTK 2.50's WebDriver
    /// `screenshot` never answers with the DMA-BUF renderer off, as the app ships.
    pub fn wait_for_paint(&self) -> Result<(), String> {
        self.send(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                "args": []
            })),
        )
        .map(drop)
    }

    /// The app's window on the screen: position and size, as the window manager (none
    /// under Xvfb: the window's own) placed it.
    pub fn window_rect(&self) -> Result<Rect, String> {
        let value = self.send(reqwest::Method::GET, "/window/rect", None)?;
        let number = |key: &str| {
            value[key]
                .as_f64()
                .ok_or_else(|| format!("/window/rect has no {key}: {value}"))
        };
        Ok(Rect {
            x: number("x")? as i64,
            y: number("y")? as i64,
            width: number("width")? as u32,
            height: number("height")? as u32,
        })
    }

    /// Resizes the app's window.
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.send(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .expect("set window rect");
    }

    /// Runs a script in the page and returns its result.
    pub fn execute(&self, script: &str) -> Value {
        self.send(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .expect("execute script")
    }

    /// Runs an asynchronous script (its last argument is the callback to call with the
    /// result) and returns what it passed back.
    pub fn execute_async(&self, script: &str) -> Value {
        self.send(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .expect("execute async script")
    }

    /// Ends the session, closing the app.
    pub fn close(&self) {
        let _ = self.send(reqwest::Method::DELETE, "", None);
    }
}
