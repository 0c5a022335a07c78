#!/usr/bin/env bash
# Install a built bundle for the current user (Linux): the program folder, a command on PATH,
# the icon and the applications-menu entry. No root needed; uninstall: packaging/install-desktop.sh --remove
#
#   packaging/install-desktop.sh [BUNDLE_DIR]     (default build/bundle/dist/ethoscout)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
OPT="$HOME/.local/opt/ethoscout"
BIN="$HOME/.local/bin/ethoscout"
ICON="$DATA/icons/hicolor/scalable/apps/ethoscout.svg"
ENTRY="$DATA/applications/ethoscout.desktop"

if [ "${1:-}" = "--remove" ]; then
    rm -rf "$OPT" "$BIN" "$ICON" "$ENTRY"
    echo "removed ethoscout (projects and ~/.cache/huggingface models are kept)"
    exit 0
fi
BUNDLE=${1:-build/bundle/dist/ethoscout}
[ -x "$BUNDLE/ethoscout" ] || { echo "install-desktop: $BUNDLE/ethoscout not found; run packaging/build.sh first" >&2; exit 1; }

rm -rf "$OPT"
mkdir -p "$(dirname "$OPT")" "$(dirname "$BIN")"
cp -a "$BUNDLE" "$OPT"
ln -sf "$OPT/ethoscout" "$BIN"
install -Dm644 resources/icon.svg "$ICON"
# Exec with the full path: menus don't always see ~/.local/bin on PATH.
sed "s|^Exec=ethoscout|Exec=$OPT/ethoscout|" packaging/ethoscout.desktop | install -Dm644 /dev/stdin "$ENTRY"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" 2>/dev/null || true
echo "installed: $OPT, command $BIN, menu entry $ENTRY"
