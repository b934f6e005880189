#!/bin/sh
# Installs this unpacked Ais-Qt for the current user: `ais-qt` and `ais-qt-cli` in ~/.local/bin, the
# menu entry, the icon and the file types (.aisqt, .aisnet opened by Ais-Qt; .mrc offered to it).
# The app stays in this folder; ./uninstall.sh removes what this script added.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
bin=$HOME/.local/bin
mkdir -p "$bin" "$data/applications" "$data/mime/packages"
ln -sf "$here/ais-qt/ais-qt" "$bin/ais-qt"
ln -sf "$here/ais-qt/ais-qt-cli" "$bin/ais-qt-cli"
sed "s|@EXEC@|$here/ais-qt/ais-qt|" "$here/share/applications/ais-qt.desktop" > "$data/applications/ais-qt.desktop"
cp "$here/share/mime/packages/ais-qt.xml" "$data/mime/packages/ais-qt.xml"
for icon in "$here"/share/icons/hicolor/*/apps/ais-qt.png; do
    size=$(basename "$(dirname "$(dirname "$icon")")")
    mkdir -p "$data/icons/hicolor/$size/apps"
    cp "$icon" "$data/icons/hicolor/$size/apps/ais-qt.png"
done
# Refresh the desktop's caches where the tools exist (not every system has them).
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
command -v xdg-mime >/dev/null 2>&1 && xdg-mime default ais-qt.desktop application/x-ais-qt-project application/x-ais-qt-network || true
echo "Ais-Qt installed for $(id -un): the menu entry \"Ais-Qt\", and ais-qt / ais-qt-cli in $bin"
case ":$PATH:" in *":$bin:"*) ;; *) echo "Note: $bin is not on your PATH; add it to use ais-qt from a terminal." ;; esac
