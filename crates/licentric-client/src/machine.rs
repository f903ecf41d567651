//! This machine's identity: the OS machine id (never sent: only its keyed hash, the
//! fingerprint), its platform (including containers) and its name.

use std::fmt::Debug;

use licentric_core::wire::Platform;

/// Where machine facts come from; tests and special deployments supply their own.
pub trait MachineIdentity: Send + Sync + Debug {
    /// A stable id of this machine (survives reboots and app updates).
    fn machine_id(&self) -> Result<String, String>;
    /// The platform to report.
    fn platform(&self) -> Platform;
    /// A human-readable machine name.
    fn name(&self) -> Option<String>;
}

/// The real machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemMachine;

impl MachineIdentity for SystemMachine {
    fn machine_id(&self) -> Result<String, String> {
        os_machine_id()
    }

    fn platform(&self) -> Platform {
        detect_platform(&Facts::gather(std::path::Path::new("/")))
    }

    fn name(&self) -> Option<String> {
        sysinfo::System::host_name()
    }
}

/// A machine with given facts (tests, or vendors with their own notion of a machine).
#[derive(Debug, Clone)]
pub struct FixedMachine {
    /// The id.
    pub id: String,
    /// The platform.
    pub platform: Platform,
    /// The name.
    pub name: Option<String>,
}

impl MachineIdentity for FixedMachine {
    fn machine_id(&self) -> Result<String, String> {
        Ok(self.id.clone())
    }
    fn platform(&self) -> Platform {
        self.platform
    }
    fn name(&self) -> Option<String> {
        self.name.clone()
    }
}

/// What platform detection looks at.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// `std::env::consts::OS`.
    pub os: &'a str,
    /// Whether `KUBERNETES_SERVICE_HOST` is set.
    pub kubernetes_env: bool,
    /// Whether `/.dockerenv` exists.
    pub dockerenv: bool,
    /// `/proc/1/cgroup`.
    pub cgroup: String,
}

impl Facts<'static> {
    /// This process's facts, with the container markers (`.dockerenv`, `proc/1/cgroup`)
    /// read under `root` (`/` for the real system; another folder to test detection, or
    /// for a program that inspects a container's root from outside it).
    pub fn gather(root: &std::path::Path) -> Self {
        Self {
            os: std::env::consts::OS,
            kubernetes_env: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
            dockerenv: root.join(".dockerenv").exists(),
            cgroup: std::fs::read_to_string(root.join("proc/1/cgroup")).unwrap_or_default(),
        }
    }
}

/// Kubernetes before Docker (a pod runs in a container too), then the OS.
pub fn detect_platform(facts: &Facts<'_>) -> Platform {
    if facts.kubernetes_env || facts.cgroup.contains("kubepods") {
        Platform::Kubernetes
    } else if facts.dockerenv
        || facts.cgroup.contains("docker")
        || facts.cgroup.contains("containerd")
    {
        Platform::Docker
    } else {
        match facts.os {
            "macos" => Platform::Macos,
            "windows" => Platform::Windows,
            _ => Platform::Linux,
        }
    }
}

/// The systemd/D-Bus machine id of the Linux system whose root is `root` (`/` for this
/// one; a container's or chroot's root folder for that system).
pub fn machine_id_under(root: &std::path::Path) -> Result<String, String> {
    for path in ["etc/machine-id", "var/lib/dbus/machine-id"] {
        if let Ok(id) = std::fs::read_to_string(root.join(path)) {
            let id = id.trim();
            if !id.is_empty() {
                return Ok(id.to_owned());
            }
        }
    }
    Err(format!("this system has no machine id ({}); run systemd-machine-id-setup, or give the SDK a MachineIdentity", root.join("etc/machine-id").display()))
}

#[cfg(target_os = "linux")]
fn os_machine_id() -> Result<String, String> {
    machine_id_under(std::path::Path::new("/"))
}

#[cfg(target_os = "macos")]
fn os_machine_id() -> Result<String, String> {
    let output = std::process::Command::new("ioreg")
        .args(["-rd1", "-c", "IOPlatformExpertDevice"])
        .output()
        .map_err(|e| format!("cannot run ioreg: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|line| line.contains("IOPlatformUUID"))
        .and_then(|line| line.split('"').nth(3))
        .map(str::to_owned)
        .ok_or_else(|| "ioreg reported no IOPlatformUUID".to_owned())
}

#[cfg(target_os = "windows")]
fn os_machine_id() -> Result<String, String> {
    let output = std::process::Command::new("reg")
        .args([
            "query",
            r"HKLM\SOFTWARE\Microsoft\Cryptography",
            "/v",
            "MachineGuid",
        ])
        .output()
        .map_err(|e| format!("cannot read the registry: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|line| line.contains("MachineGuid"))
        .and_then(|line| line.split_whitespace().last())
        .map(str::to_owned)
        .ok_or_else(|| "the registry has no MachineGuid".to_owned())
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn os_machine_id() -> Result<String, String> {
    Err("no machine id source on this platform; give the SDK a MachineIdentity".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_apart_from_their_host() {
        let host = Facts {
            os: "linux",
            ..Facts::default()
        };
        assert_eq!(detect_platform(&host), Platform::Linux);
        assert_eq!(
            detect_platform(&Facts {
                dockerenv: true,
                ..host.clone()
            }),
            Platform::Docker
        );
        assert_eq!(
            detect_platform(&Facts {
                cgroup: "0::/system.slice/docker-abc.scope".into(),
                ..host.clone()
            }),
            Platform::Docker
        );
        assert_eq!(
            detect_platform(&Facts {
                kubernetes_env: true,
                dockerenv: true,
                ..host.clone()
            }),
            Platform::Kubernetes
        );
        assert_eq!(
            detect_platform(&Facts {
                cgroup: "0::/kubepods/besteffort/pod1".into(),
                ..host
            }),
            Platform::Kubernetes
        );
        assert_eq!(
            detect_platform(&Facts {
                os: "macos",
                ..Facts::default()
            }),
            Platform::Macos
        );
        assert_eq!(
            detect_platform(&Facts {
                os: "windows",
                ..Facts::default()
            }),
            Platform::Windows
        );
    }

    #[test]
    fn facts_are_read_under_the_given_root() {
        let root = tempfile::tempdir().unwrap();
        let bare = Facts::gather(root.path());
        assert!(!bare.dockerenv);
        assert_eq!(bare.cgroup, "");
        std::fs::write(root.path().join(".dockerenv"), "").unwrap();
        assert!(Facts::gather(root.path()).dockerenv);
        std::fs::create_dir_all(root.path().join("proc/1")).unwrap();
        std::fs::write(root.path().join("proc/1/cgroup"), "0::/kubepods/pod1\n").unwrap();
        assert_eq!(Facts::gather(root.path()).cgroup, "0::/kubepods/pod1\n");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_machine_id_is_the_systems_and_stable_between_reads() {
        let id = SystemMachine.machine_id().unwrap();
        assert_eq!(
            id,
            std::fs::read_to_string("/etc/machine-id").unwrap().trim()
        );
        assert_eq!(SystemMachine.machine_id().unwrap(), id);
    }
}
