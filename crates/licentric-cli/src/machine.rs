//! This machine as the CLI reports it: the SDK's system machine, or, with a system root
//! other than `/` (a chroot, a container's root seen from outside, a test), the machine
//! id and container markers of the system under that root. Detection is thus testable
//! without faking the host.

use std::path::PathBuf;

use licentric_client::{
    machine::{detect_platform, machine_id_under, Facts},
    MachineIdentity, SystemMachine,
};
use licentric_core::wire::Platform;

/// The real machine, its container markers read under `root`.
#[derive(Debug, Clone)]
pub struct HostMachine {
    /// `/` unless configured (`--system-root`).
    pub root: PathBuf,
}

impl MachineIdentity for HostMachine {
    fn machine_id(&self) -> Result<String, String> {
        if self.root == std::path::Path::new("/") {
            SystemMachine.machine_id()
        } else {
            machine_id_under(&self.root)
        }
    }

    fn platform(&self) -> Platform {
        detect_platform(&Facts::gather(&self.root))
    }

    fn name(&self) -> Option<String> {
        SystemMachine.name()
    }
}
