//! Screenshots taken from the X display (Xvfb) rather than through WebDriver.
//!
//! The app ships with WebKit's DMA-BUF renderer off (`src-tauri/webview.rs`): under
//! software GL it keeps ~45 MB less in the web process. In that mode WebKitGTK 2.50's
//! WebDriver `screenshot` never answers, so the tests read the pixels the X server shows
//! instead: `xwd` dumps the screen, and the app window's rectangle (as WebDriver reports
//! it) is cut out of it and saved as PNG. This is also what a user sees: the window as
//! drawn on the display, not WebKit's own rendering of the page.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// The X display the app runs on, as `driver.sh` wrote it down inside `xvfb-run`.
#[derive(Clone, Debug)]
pub struct Display {
    name: String,
    xauthority: Option<String>,
}

impl Display {
    /// Before the app's display is known; capturing from it fails.
    pub fn unknown() -> Self {
        Self {
            name: String::new(),
            xauthority: None,
        }
    }

    /// Waits for `driver.sh` to write the display's name and its X authority file to `file`
    /// (it does before it starts tauri-driver, so this is quick once WebDriver answers).
    pub fn read(file: &Path) -> Self {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(file) {
                let mut lines = text.lines();
                if let Some(name) = lines.next().filter(|name| !name.is_empty()) {
                    return Self {
                        name: name.to_owned(),
                        xauthority: lines
                            .next()
                            .filter(|path| !path.is_empty())
                            .map(str::to_owned),
                    };
                }
            }
            assert!(
                Instant::now() < deadline,
                "driver.sh never wrote the X display to {}",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The whole screen, as `xwd` dumps it.
    fn dump(&self) -> Result<Vec<u8>, String> {
        let mut command = Command::new("xwd");
        command
            .args(["-root", "-silent"])
            .env("DISPLAY", &self.name);
        if let Some(path) = &self.xauthority {
            command.env("XAUTHORITY", path);
        }
        let output = command
            .output()
            .map_err(|e| format!("xwd could not run (scripts/test installs x11-apps): {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "xwd failed on {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(output.stdout)
    }

    /// A PNG of the rectangle `(x, y, width, height)` of the screen, once what the display
    /// shows has stopped changing: two dumps 50 ms apart that are the same, so a frame the
    /// app was still drawing is not what gets saved. Something that never stops moving (a
    /// spinner) gets the last dump after 2 s.
    pub fn capture(&self, rect: Rect) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut last = self.dump()?;
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let next = self.dump()?;
            let settled = next == last;
            last = next;
            if settled || Instant::now() >= deadline {
                break;
            }
        }
        let screen = Xwd::parse(&last)?;
        let png = screen.crop_png(rect)?;
        Ok(png)
    }
}

/// A window's place on the screen, in pixels.
#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub width: u32,
    pub height: u32,
}

/// A decoded X window dump (XWD version 7, a true-colour ZPixmap as Xvfb's are).
struct Xwd<'a> {
    width: u32,
    height: u32,
    bytes_per_pixel: usize,
    bytes_per_line: usize,
    msb_first: bool,
    masks: [u32; 3],
    pixels: &'a [u8],
}

impl<'a> Xwd<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, String> {
        let field = |index: usize| -> Result<u32, String> {
            data.get(index * 4..index * 4 + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| "xwd's output is shorter than its header".to_owned())
        };
        let (header_size, version, format) = (field(0)?, field(1)?, field(2)?);
        if version != 7 || format != 2 {
            return Err(format!(
                "xwd gave version {version}, format {format}; expected 7 and ZPixmap (2)"
            ));
        }
        let bits_per_pixel = field(11)?;
        if bits_per_pixel != 24 && bits_per_pixel != 32 {
            return Err(format!(
                "{bits_per_pixel} bits per pixel is not true colour"
            ));
        }
        let colours = field(19)? as usize;
        let start = header_size as usize + colours * 12;
        let xwd = Self {
            width: field(4)?,
            height: field(5)?,
            bytes_per_pixel: bits_per_pixel as usize / 8,
            bytes_per_line: field(12)? as usize,
            msb_first: field(7)? == 1,
            masks: [field(14)?, field(15)?, field(16)?],
            pixels: data.get(start..).unwrap_or_default(),
        };
        if xwd.pixels.len() < xwd.bytes_per_line * xwd.height as usize {
            return Err("xwd's output ends before its last row".to_owned());
        }
        Ok(xwd)
    }

    fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let at = y as usize * self.bytes_per_line + x as usize * self.bytes_per_pixel;
        let bytes = &self.pixels[at..at + self.bytes_per_pixel];
        let value = if self.msb_first {
            bytes.iter().fold(0u32, |v, b| (v << 8) | u32::from(*b))
        } else {
            bytes
                .iter()
                .rev()
                .fold(0u32, |v, b| (v << 8) | u32::from(*b))
        };
        self.masks.map(|mask| {
            let shifted = (value & mask) >> mask.trailing_zeros();
            let bits = mask.count_ones();
            // Scale to 8 bits whatever the mask's width (Xvfb's are 8 bits each).
            if bits >= 8 {
                (shifted >> (bits - 8)) as u8
            } else {
                ((shifted * 255) / ((1 << bits) - 1)) as u8
            }
        })
    }

    /// The part of the screen under `rect` (clipped to the screen) as PNG. A crop that is
    /// a single colour is refused: a black or blank frame is not a screenshot of a screen.
    fn crop_png(&self, rect: Rect) -> Result<Vec<u8>, String> {
        let clip = |start: i64, length: u32, limit: u32| {
            let from = start.clamp(0, i64::from(limit)) as u32;
            let to = (start + i64::from(length)).clamp(0, i64::from(limit)) as u32;
            (from, to)
        };
        let (x0, x1) = clip(rect.x, rect.width, self.width);
        let (y0, y1) = clip(rect.y, rect.height, self.height);
        if x1 <= x0 || y1 <= y0 {
            return Err(format!(
                "the window {rect:?} is off the {}x{} screen",
                self.width, self.height
            ));
        }
        let image = image::RgbImage::from_fn(x1 - x0, y1 - y0, |x, y| {
            image::Rgb(self.rgb(x0 + x, y0 + y))
        });
        let first = image.get_pixel(0, 0);
        if image.pixels().all(|pixel| pixel == first) {
            return Err(format!(
                "the window {rect:?} shows a single colour {first:?}: nothing is drawn"
            ));
        }
        let mut png = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut png, image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok(png.into_inner())
    }
}

/// Where `driver.sh` writes the display for the app named `name`.
pub fn display_file(logs: &Path, name: &str) -> PathBuf {
    logs.join(format!("{name}.display"))
}
