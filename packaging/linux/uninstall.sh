#!/bin/sh
# Removes what install.sh added for the current user (this folder itself stays: delete it after).
set -eu
data=${XDG_DATA_HOME:-$HOME/.local/share}
bin=$HOME/.local/bin
rm -f "$bin/ais-qt" "$bin/ais-qt-cli" "$data/applications/ais-qt.desktop" "$data/mime/packages/ais-qt.xml"
rm -f "$data"/icons/hicolor/*/apps/ais-qt.png
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "Ais-Qt's menu entry, file types and commands were removed; delete this folder to remove the app."
