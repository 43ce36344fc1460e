#!/bin/sh
# Install the FSR Studio desktop entry and icons for the current user (freedesktop.org layout).
#   packaging/install-desktop-entry.sh            # uses `fsr-studio` on PATH (pip install / make venv)
#   packaging/install-desktop-entry.sh /opt/fsr-studio/fsr-studio   # a PyInstaller bundle's executable
set -eu
here=$(cd "$(dirname "$0")" && pwd)
icons="$here/../resources/icons"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
exe="${1:-fsr-studio}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=fsr-studio|Exec=$exe|" -e "s|^TryExec=fsr-studio|TryExec=$exe|" \
    "$here/fsr-studio.desktop" > "$data/applications/fsr-studio.desktop"
cp "$icons/fsr-studio.svg" "$data/icons/hicolor/scalable/apps/fsr-studio.svg"
for size in 32 48 64 128; do
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$icons/fsr-studio-$size.png" "$data/icons/hicolor/${size}x${size}/apps/fsr-studio.png"
done
mkdir -p "$data/icons/hicolor/256x256/apps"
cp "$icons/fsr-studio.png" "$data/icons/hicolor/256x256/apps/fsr-studio.png"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$data/icons/hicolor" || true
echo "installed $data/applications/fsr-studio.desktop (Exec=$exe)"
