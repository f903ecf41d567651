//! Desktop notifications when time runs short: the license about to expire, the grace
//! period running low, or the offline allowance ending. Each is shown once per threshold
//! (14, 7 and 1 days before expiry; 3 and 1 day of grace; 2 and 1 days offline), and what
//! was shown is remembered in `notices.json`, so a restart does not repeat it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Mutex,
};

use chrono::{DateTime, Utc};
use licentric_client::{LicenseInfo, Standing};

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The headline.
    pub title: String,
    /// What is happening and what to do.
    pub body: String,
}

/// Shows a notice on the desktop (the real one uses the OS notification service).
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Shows `notice`; failures are logged, never fatal.
    fn show(&self, notice: &Notice);
}

/// One deadline a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    LicenseExpires,
    GraceEnds,
    OfflineEnds,
}

impl Deadline {
    fn thresholds(self) -> &'static [i64] {
        match self {
            Self::LicenseExpires => &[14, 7, 1],
            Self::GraceEnds => &[3, 1],
            Self::OfflineEnds => &[2, 1],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::LicenseExpires => "license-expires",
            Self::GraceEnds => "grace-ends",
            Self::OfflineEnds => "offline-ends",
        }
    }

    fn notice(self, seconds_left: i64, at: DateTime<Utc>) -> Notice {
        // Rounded, as the License view and the SDK's messages count days.
        let when = match (seconds_left + 43_200) / 86_400 {
            _ if seconds_left < 86_400 => "within a day".to_owned(),
            1 => "in 1 day".to_owned(),
            n => format!("in {n} days"),
        };
        // The day as the user's calendar has it, like the License view's dates.
        let date = at.with_timezone(&chrono::Local).format("%-d %B %Y");
        match self {
            Self::LicenseExpires => Notice {
                title: format!("Your license expires {when}"),
                body: format!(
                    "It stops working on {date}. Renew it with your vendor to keep working."
                ),
            },
            Self::GraceEnds => Notice {
                title: format!("Grace period ends {when}"),
                body: format!(
                    "The license server has not been reached for a while. Connect to the internet before {date}, or ask support for a license file."
                ),
            },
            Self::OfflineEnds => Notice {
                title: format!("Connect to the internet {when}"),
                body: format!(
                    "This license works offline until {date}. Let the app reach the license server once before then."
                ),
            },
        }
    }
}

/// The notices due for `info` at `now`, most urgent first, each with its deadline's key
/// and the threshold reached.
fn due(info: &LicenseInfo, now: DateTime<Utc>) -> Vec<(String, i64, Notice)> {
    let mut deadlines = Vec::new();
    // A suspended, revoked or banned license will not be saved by renewing it.
    let renewable = !matches!(
        info.status.as_deref(),
        Some("suspended" | "revoked" | "banned")
    );
    if let Some(at) = info.license_expires_at.filter(|_| renewable) {
        deadlines.push((Deadline::LicenseExpires, at));
    }
    match info.standing {
        Some(Standing::Grace) => {
            deadlines.extend(info.grace_ends_at.map(|at| (Deadline::GraceEnds, at)))
        }
        Some(Standing::Offline) => {
            deadlines.extend(info.expires_at.map(|at| (Deadline::OfflineEnds, at)))
        }
        _ => {}
    }
    let mut due: Vec<_> = deadlines
        .into_iter()
        .filter_map(|(deadline, at)| {
            let seconds = (at - now).num_seconds();
            if seconds <= 0 {
                return None; // Past: the License view says so; a notice would only nag.
            }
            let days = (seconds + 86_399) / 86_400;
            let threshold = deadline
                .thresholds()
                .iter()
                .copied()
                .filter(|t| days <= *t)
                .min()?;
            let key = format!("{}@{}", deadline.name(), at.to_rfc3339());
            Some((seconds, key, threshold, deadline.notice(seconds, at)))
        })
        .collect();
    due.sort_by_key(|(seconds, ..)| *seconds);
    due.into_iter()
        .map(|(_, key, threshold, notice)| (key, threshold, notice))
        .collect()
}

/// The notices shown so far, and where they are shown.
#[derive(Debug)]
pub struct Notices {
    file: PathBuf,
    shown: Mutex<BTreeMap<String, i64>>,
    notifier: Box<dyn Notifier>,
}

impl Notices {
    /// Remembers what was shown in `data_dir/notices.json`.
    pub fn new(data_dir: &Path, notifier: Box<dyn Notifier>) -> Self {
        let file = data_dir.join("notices.json");
        let shown = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            file,
            shown: Mutex::new(shown),
            notifier,
        }
    }

    /// Shows the notice due for `info` at `now`, unless it was shown already. Returns it.
    pub fn consider(&self, info: &LicenseInfo, now: DateTime<Utc>) -> Option<Notice> {
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        // The most urgent deadline not yet told at its current threshold.
        let (key, threshold, notice) = due(info, now)
            .into_iter()
            .find(|(key, threshold, _)| shown.get(key).is_none_or(|sent| sent > threshold))?;
        shown.insert(key, threshold);
        if let Err(error) = self.remember(&shown) {
            tracing::warn!(%error, "cannot remember the notice shown; it may be shown again");
        }
        drop(shown);
        self.notifier.show(&notice);
        Some(notice)
    }

    /// Writes what was shown atomically: a crash mid-write must not bring old notices back.
    fn remember(&self, shown: &BTreeMap<String, i64>) -> std::io::Result<()> {
        let folder = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder)?;
        let mut temp = tempfile::NamedTempFile::new_in(folder)?;
        std::io::Write::write_all(&mut temp, &serde_json::to_vec(shown)?)?;
        temp.persist(&self.file).map_err(|e| e.error)?;
        Ok(())
    }
}

/// A notifier for tests: it keeps what it was asked to show, in place of the desktop's.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct Recorder(pub std::sync::Arc<Mutex<Vec<Notice>>>);

#[cfg(test)]
impl Notifier for Recorder {
    fn show(&self, notice: &Notice) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(notice.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        "2026-11-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::days(day)
    }

    fn info(standing: Standing) -> LicenseInfo {
        LicenseInfo {
            standing: Some(standing),
            ..LicenseInfo::default()
        }
    }

    #[test]
    fn each_threshold_is_shown_once_and_remembered_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::default();
        let notices = Notices::new(dir.path(), Box::new(recorder.clone()));
        let mut license = info(Standing::Online);
        license.license_expires_at = Some(at(30));

        assert_eq!(
            notices.consider(&license, at(0)),
            None,
            "a month ahead: quiet"
        );
        let first = notices.consider(&license, at(17)).unwrap();
        assert_eq!(first.title, "Your license expires in 13 days");
        assert!(first.body.contains("1 December 2026"), "{}", first.body);
        assert_eq!(notices.consider(&license, at(18)), None, "same threshold");
        assert_eq!(
            notices.consider(&license, at(23)).unwrap().title,
            "Your license expires in 7 days"
        );

        let again = Notices::new(dir.path(), Box::new(recorder.clone()));
        assert_eq!(again.consider(&license, at(24)), None, "remembered");
        assert_eq!(
            again
                .consider(&license, at(29) + chrono::Duration::hours(1))
                .unwrap()
                .title,
            "Your license expires within a day"
        );
        assert_eq!(
            again.consider(&license, at(31)),
            None,
            "expired: no nagging"
        );
        assert_eq!(recorder.0.lock().unwrap().len(), 3);

        // A renewal moves the deadline: its thresholds start afresh.
        license.license_expires_at = Some(at(60));
        assert!(again.consider(&license, at(50)).is_some());
    }

    #[test]
    fn grace_running_low_and_offline_ending_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let notices = Notices::new(dir.path(), Box::new(Recorder::default()));
        let mut grace = info(Standing::Grace);
        grace.grace_ends_at = Some(at(7));
        assert_eq!(
            notices.consider(&grace, at(0)),
            None,
            "a week of grace: quiet"
        );
        let notice = notices
            .consider(&grace, at(4) + chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(notice.title, "Grace period ends in 3 days");
        assert!(
            notice.body.contains("Connect to the internet"),
            "{}",
            notice.body
        );

        let mut offline = info(Standing::Offline);
        offline.expires_at = Some(at(2));
        let notice = notices
            .consider(&offline, at(0) + chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(notice.title, "Connect to the internet in 2 days");

        // A suspended license is not told to renew.
        let mut suspended = info(Standing::NotLicensed);
        suspended.status = Some("suspended".into());
        suspended.license_expires_at = Some(at(5));
        assert_eq!(notices.consider(&suspended, at(0)), None);

        // The most urgent deadline wins when two are near.
        let mut both = info(Standing::Grace);
        both.grace_ends_at = Some(at(11));
        both.license_expires_at = Some(at(13));
        let notice = notices
            .consider(&both, at(10) + chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(notice.title, "Grace period ends within a day");
    }
}
