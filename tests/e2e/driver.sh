#!/usr/bin/env bash
# Runs inside `xvfb-run` + `dbus-run-session` (see tests/e2e/harness.rs): unlocks a real
# gnome-keyring in this private D-Bus session, then serves WebDriver with tauri-driver.
# Usage: driver.sh PORT NATIVE_PORT
set -euo pipefail
# A keyring folder of its own: a fresh keyring unlocked with this password, never the user's.
export XDG_DATA_HOME="$(mktemp -d)"
echo -n "licentric-e2e" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec tauri-driver --port "$1" --native-port "$2" --native-driver "$(command -v WebKitWebDriver)"
