#!/usr/bin/env bash
# The desktop package test: inspects a .deb (control fields, files, icons), runs lintian
# on it and resolves its dependencies with apt --simulate; then installs it with dpkg -i
# (dependencies checked, nothing forced) into a throwaway copy of this machine
# (throwaway-root.sh: an overlay of / in a private mount namespace; the host is left as it
# was), checks the menu entry, and runs the end-to-end test package:: against the
# installed binary: started under Xvfb, the License view painted, a license activated.
# Usage: tests/package/desktop.sh PACKAGE.deb
set -euo pipefail
deb="$(realpath "$1")"
fail() { printf 'package test: %s\n' "$*" >&2; exit 1; }

info="$(dpkg-deb --info "$deb")"
field() { sed -n "s/^ $1: //p" <<<"$info"; }
[ "$(field Package)" = licentric ] || fail "package name is $(field Package)"
for dependency in libc6 libwebkit2gtk-4.1-0 libgtk-3-0; do
  grep -qx " *$dependency" <<<"$(field Depends | tr ',' '\n')" || fail "Depends lacks $dependency: $(field Depends)"
done

contents="$(dpkg-deb --contents "$deb" | awk '{print $NF}')"
for file in ./usr/bin/licentric-desktop ./usr/share/applications/Licentric.desktop \
  ./usr/share/icons/hicolor/32x32/apps/licentric-desktop.png \
  ./usr/share/icons/hicolor/128x128/apps/licentric-desktop.png \
  ./usr/share/icons/hicolor/512x512/apps/licentric-desktop.png \
  ./usr/share/doc/licentric/copyright ./usr/share/doc/licentric/changelog.gz; do
  grep -qx "$file" <<<"$contents" || fail "the package lacks $file"
done

# lintian: no error and no warning (its overrides ship in the package).
report="$(lintian --fail-on error,warning "$deb" 2>&1)" \
  || { printf '%s\n' "$report" >&2; fail "lintian found problems (above)"; }

# The dependencies as declared resolve on this Debian system (nothing is installed).
apt-get install --simulate --no-install-recommends "$deb" >/dev/null \
  || fail "apt cannot satisfy the package's dependencies here"

# Runs in the throwaway root's namespace: $1 the package.
inside='
set -euo pipefail
fail() { printf "package test: %s\n" "$*" >&2; exit 1; }
root="$THROWAWAY_ROOT"
cp "$1" "$root/tmp/package.deb"
chroot "$root" dpkg -i /tmp/package.deb >&2
grep -qx "Status: install ok installed" <<<"$(chroot "$root" dpkg -s licentric)" || fail "dpkg did not install it"
entry="$root/usr/share/applications/Licentric.desktop"
grep -qx "Name=Licentric" "$entry" || fail "the menu entry is not named Licentric"
grep -qx "Exec=licentric-desktop" "$entry" || fail "the menu entry does not start the app"
grep -qx "Icon=licentric-desktop" "$entry" || fail "the menu entry has no icon"
grep -qx "Categories=Utility;" "$entry" || fail "the menu entry has no category"
LICENTRIC_E2E_INSTALLED_APP="$root/usr/bin/licentric-desktop" \
  cargo test --locked --test e2e -- --ignored --exact package::the_installed_package_starts_to_the_license_view_and_activates
'
"$(dirname "$0")/throwaway-root.sh" bash -c "$inside" inside "$deb"
