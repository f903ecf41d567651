#!/usr/bin/env bash
# Installs what Licentric needs on Debian or Ubuntu, skipping whatever is already there.
# Sourced by scripts/run-app and scripts/test; not meant to be run on its own.
#   setup_app    system libraries for building the desktop app, Rust components, npm packages
#   setup_tests  the above, plus Xvfb, D-Bus, gnome-keyring, WebKitWebDriver, tauri-driver

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

APP_PACKAGES=(build-essential pkg-config curl file libssl-dev libwebkit2gtk-4.1-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev)
# postgresql: the server's PostgreSQL tests run in a throw-away cluster (pg_virtualenv).
# iproute2: `ss`, to read the server's listen backlog.
# nginx: two server processes behind one port (tests/api/postgres/cluster.rs runs its own
# nginx in the foreground with a configuration in a temporary folder; the service is unused).
# x11-apps: `xwd`, the end-to-end tests' screenshots from the Xvfb display.
TEST_PACKAGES=(xvfb xauth dbus gnome-keyring dunst webkit2gtk-driver curl lintian postgresql nginx
  iproute2 x11-apps)
TAURI_DRIVER_VERSION="^2"
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "installing system packages needs root; run as root or install sudo"; fi
}

APT_UPDATED=""
apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]}, and this is not a Debian-like system"
  step "Installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_rust() {
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  command -v cargo >/dev/null || die "Rust is not installed: install it with rustup (https://rustup.rs), then run this again"
  if command -v rustup >/dev/null; then
    local component
    for component in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$component" \
        || { step "Installing Rust component $component"; rustup component add "$component"; }
    done
  fi
}

ensure_node() {
  if ! command -v node >/dev/null; then apt_install nodejs npm; fi
  local version major minor
  version="$(node --version | tr -d v)"
  major="${version%%.*}"; minor="$(echo "$version" | cut -d. -f2)"
  if [ "$major" -lt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -lt "$NODE_MIN_MINOR" ]; }; then
    die "Node.js $version is too old for the UI's build tools; install Node.js $NODE_MIN_MAJOR.$NODE_MIN_MINOR or newer"
  fi
}

# npm ci only when package-lock.json changed since the last install.
ensure_ui_packages() {
  local stamp="$ROOT/ui/node_modules/.licentric-lock.sha256" sum
  sum="$(sha256sum "$ROOT/ui/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  step "Installing the UI's npm packages (npm ci)"
  (cd "$ROOT/ui" && npm ci --no-audit --no-fund)
  echo "$sum" > "$stamp"
}

# The Tauri bundler (npm @tauri-apps/cli, prebuilt) for scripts/package, reinstalled only
# when its lock file changed.
ensure_bundler() {
  local dir="$ROOT/packaging/desktop" stamp sum
  stamp="$dir/node_modules/.licentric-lock.sha256"
  sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -x "$dir/node_modules/.bin/tauri" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  step "Installing the Tauri bundler (npm ci in packaging/desktop)"
  (cd "$dir" && npm ci --no-audit --no-fund) >&2
  echo "$sum" > "$stamp"
}

ensure_tauri_driver() {
  command -v tauri-driver >/dev/null && return 0
  step "Installing tauri-driver (cargo install, about 90 s)"
  cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked
}

# A private Python environment for the tests' Python tools (cross-language vectors,
# schemathesis), reinstalled only when their requirements change.
ensure_python_tools() {
  command -v python3 >/dev/null || apt_install python3 python3-venv
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/licentric/python" stamp sum
  if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    step "Creating the Python environment for the test tools"
    rm -rf "$venv"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
  fi
  stamp="$venv/.licentric-requirements.sha256"
  sum="$(cat "$ROOT"/tests/*/requirements.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    step "Installing the Python test tools (pip)"
    local requirement args=()
    for requirement in "$ROOT"/tests/*/requirements.txt; do args+=(-r "$requirement"); done
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${args[@]}"
    echo "$sum" > "$stamp"
  fi
  export LICENTRIC_PYTHON_BIN="$venv/bin"
}

# Reuse one build cache outside the clone, so a fresh clone does not rebuild every
# dependency. Safe for a fresh clone: its files are newer than anything built before it.
# Two checkouts in use, though, share the workspace's own crates' builds, which Cargo
# judges by file times: a file edited in one checkout before the other was built counts
# as built (seen 2026-12-03: a test added after a clean clone's CI run was not compiled).
# Touch what changed, or give each checkout its own CARGO_TARGET_DIR (which opts out).
use_shared_target_dir() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/licentric/target}"
}

# start_listening PREFIX COMMAND...: runs COMMAND in the background (stdout to PREFIX.out,
# stderr to PREFIX.err) and waits for its "listening on http://…" line, as the server and
# the benchmarks' bare handler print it; sets LISTENING_PID and LISTENING_URL.
start_listening() {
  local prefix="$1"; shift
  "$@" >"$prefix.out" 2>"$prefix.err" &
  LISTENING_PID=$!
  local tries=0
  until grep -q 'listening on http://' "$prefix.out" 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 1200 ] || { cat "$prefix.err" >&2; die "$1 did not start listening"; }
    kill -0 "$LISTENING_PID" 2>/dev/null || { cat "$prefix.err" >&2; die "$1 exited"; }
    sleep 0.05
  done
  LISTENING_URL="$(grep -o 'http://[0-9.:]*' "$prefix.out" | head -1)"
}

build_ui() {
  step "Building the UI (ui/dist)"
  (cd "$ROOT/ui" && npm run --silent build)
}

setup_app() {
  apt_install "${APP_PACKAGES[@]}"
  ensure_rust
  ensure_node
  ensure_ui_packages
  use_shared_target_dir
}

setup_tests() {
  setup_app
  apt_install "${TEST_PACKAGES[@]}"
  ensure_tauri_driver
  ensure_python_tools
}
