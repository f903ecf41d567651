#!/usr/bin/env bash
# The desktop package test, before the app is started from it: inspects a .deb (control
# fields, files, desktop entry, icons), runs lintian on it, installs it with dpkg into a
# scratch root, and prints the installed binary's path on its last line. scripts/test then
# starts that binary under Xvfb to a painted License view (tests/e2e/package.rs).
# Usage: tests/package/desktop.sh PACKAGE.deb ROOT
#
# A debootstrap chroot would be a cleaner root, but debootstrap fetches a whole base
# system from a Debian mirror; dpkg --root installs into an empty root, with the libraries
# the package depends on coming from this machine (--force-depends).
set -euo pipefail
deb="$1"
root="$2"
fail() { printf 'package test: %s\n' "$*" >&2; exit 1; }

info="$(dpkg-deb --info "$deb")"
field() { printf '%s\n' "$info" | sed -n "s/^ $1: //p"; }
[ "$(field Package)" = licentric ] || fail "package name is $(field Package)"
for dependency in libc6 libwebkit2gtk-4.1-0 libgtk-3-0; do
  field Depends | tr ',' '\n' | grep -qx " *$dependency" || fail "Depends lacks $dependency: $(field Depends)"
done

contents="$(dpkg-deb --contents "$deb" | awk '{print $NF}')"
for file in ./usr/bin/licentric-desktop ./usr/share/applications/Licentric.desktop \
  ./usr/share/icons/hicolor/32x32/apps/licentric-desktop.png \
  ./usr/share/icons/hicolor/128x128/apps/licentric-desktop.png \
  ./usr/share/icons/hicolor/512x512/apps/licentric-desktop.png \
  ./usr/share/doc/licentric/copyright ./usr/share/doc/licentric/changelog.gz; do
  printf '%s\n' "$contents" | grep -qx "$file" || fail "the package lacks $file"
done

# lintian: no error and no warning (its overrides ship in the package).
report="$(lintian --fail-on error,warning "$deb" 2>&1)" \
  || { printf '%s\n' "$report" >&2; fail "lintian found problems (above)"; }

# The dependencies as declared resolve on this Debian system (nothing is installed).
apt-get install --simulate --no-install-recommends "$(realpath "$deb")" >/dev/null \
  || fail "apt cannot satisfy the package's dependencies here"

rm -rf "$root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-depends --force-not-root -i "$deb" >&2
dpkg --root="$root" -s licentric | grep -qx 'Status: install ok installed' || fail "dpkg did not install it"
entry="$root/usr/share/applications/Licentric.desktop"
grep -qx 'Name=Licentric' "$entry" || fail "the menu entry is not named Licentric"
grep -qx 'Exec=licentric-desktop' "$entry" || fail "the menu entry does not start the app"
grep -qx 'Icon=licentric-desktop' "$entry" || fail "the menu entry has no icon"
[ -x "$root/usr/bin/licentric-desktop" ] || fail "the installed binary is not executable"
echo "$root/usr/bin/licentric-desktop"
