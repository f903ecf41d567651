#!/usr/bin/env bash
# Runs inside `xvfb-run` + `dbus-run-session` (see tests/e2e/harness.rs): unlocks a real
# gnome-keyring in this private D-Bus session, starts a real notification daemon, then
# serves WebDriver with tauri-driver.
# Usage: driver.sh PORT NATIVE_PORT
#   LICENTRIC_E2E_KEYRING_HOME  keep the keyring there (a restarted app finds its key);
#                               by default a fresh one
#   LICENTRIC_E2E_NOTIFICATIONS where dunst logs each notification it shows
#   LICENTRIC_E2E_DISPLAY_FILE  where to write this X display and its authority file, for
#                               the tests' screenshots (tests/e2e/screen.rs)
set -euo pipefail
if [ -n "${LICENTRIC_E2E_DISPLAY_FILE:-}" ]; then
  printf '%s\n%s\n' "$DISPLAY" "${XAUTHORITY:-}" >"$LICENTRIC_E2E_DISPLAY_FILE.new"
  mv "$LICENTRIC_E2E_DISPLAY_FILE.new" "$LICENTRIC_E2E_DISPLAY_FILE"
fi
# A keyring folder of the test's own, unlocked with this password, never the user's.
export XDG_DATA_HOME="${LICENTRIC_E2E_KEYRING_HOME:-$(mktemp -d)}"
echo -n "licentric-e2e" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
dunst -print >"${LICENTRIC_E2E_NOTIFICATIONS:-/dev/null}" 2>/dev/null &
for _ in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null \
    | grep -q "boolean true" && break
  sleep 0.05
done
exec tauri-driver --port "$1" --native-port "$2" --native-driver "$(command -v WebKitWebDriver)"
