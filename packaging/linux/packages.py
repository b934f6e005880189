"""The Linux installers from a built bundle (dist/ais-qt/, made by packaging/ais-qt.spec):
- a .deb (dpkg-deb): the bundle under /opt/ais-qt, `ais-qt` and `ais-qt-cli` on PATH, a desktop
  entry with the icon, MIME types for .aisqt projects and .aisnet networks opened by Ais-Qt and .mrc
  offered to it (dpkg's triggers for shared-mime-info, desktop-file-utils and the icon cache update
  them; no maintainer scripts);
- a portable .tar.gz of the same bundle with install.sh / uninstall.sh for the current user (~/.local).

    python packaging/linux/packages.py BUNDLE_DIR ICONS_DIR OUT_DIR VERSION
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# What the bundle's Qt needs from the system: OpenGL/EGL, fonts, D-Bus, and the xcb platform's libraries.
DEPENDS = ("libc6, libegl1, libgl1, libopengl0, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0, "
           "libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcb-cursor0, libxcb-icccm4, "
           "libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0")


def desktop_entry(executable: str) -> str:
    return (HERE / "ais-qt.desktop").read_text().replace("@EXEC@", executable)


def shared_files(root: Path, icons: Path, executable: str) -> None:
    """share/applications, share/mime/packages and share/icons/hicolor under ``root``."""
    (root / "applications").mkdir(parents=True, exist_ok=True)
    (root / "applications" / "ais-qt.desktop").write_text(desktop_entry(executable))
    (root / "mime" / "packages").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "ais-qt-mime.xml", root / "mime" / "packages" / "ais-qt.xml")
    for size in ICON_SIZES:
        target = root / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(icons / f"ais-qt-{size}.png", target / "ais-qt.png")


def installed_size_kib(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) // 1024 + 1


def build_deb(bundle: Path, icons: Path, out: Path, version: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"ais-qt_{version}_amd64.deb"
    with tempfile.TemporaryDirectory() as staging:
        root = Path(staging) / "root"
        shutil.copytree(bundle, root / "opt" / "ais-qt", symlinks=True)
        (root / "usr" / "bin").mkdir(parents=True)
        for name in ("ais-qt", "ais-qt-cli"):
            os.symlink(f"/opt/ais-qt/{name}", root / "usr" / "bin" / name)
        shared_files(root / "usr" / "share", icons, "ais-qt")
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN" / "control").write_text(
            f"Package: ais-qt\nVersion: {version}\nArchitecture: amd64\nSection: science\nPriority: optional\n"
            f"Maintainer: Ais-Qt developers <ais-qt@users.noreply.github.com>\nDepends: {DEPENDS}\n"
            f"Installed-Size: {installed_size_kib(root)}\n"
            "Description: segment cryo-electron tomograms, pick particles, export meshes\n"
            " Ais-Qt annotates a few slices, trains a small network per feature, segments whole\n"
            " tomograms, picks particles and filaments and renders meshes; ais-qt-cli runs the\n"
            " same engine headless (train, segment, pick, mesh, convert).\n")
        for path in root.rglob("*"):  # dpkg wants 0755 folders and no group/other write bits
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o022 | (0o755 if path.is_dir() else 0))
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(target)], check=True,
                       stdout=subprocess.DEVNULL)
    return target


def build_tarball(bundle: Path, icons: Path, out: Path, version: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    name = f"ais-qt-{version}-linux-x86_64"
    target = out / f"{name}.tar.gz"
    with tempfile.TemporaryDirectory() as staging:
        top = Path(staging) / name
        shutil.copytree(bundle, top / "ais-qt", symlinks=True)
        shared_files(top / "share", icons, "@EXEC@")  # install.sh writes the real path in
        for script in ("install.sh", "uninstall.sh"):
            shutil.copy(HERE / script, top / script)
            (top / script).chmod(0o755)
        with tarfile.open(target, "w:gz", compresslevel=6) as archive:
            archive.add(top, arcname=name)
    return target


if __name__ == "__main__":
    bundle, icons, out, version = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    for made in (build_deb(bundle, icons, out, version), build_tarball(bundle, icons, out, version)):
        print(f"{made} ({made.stat().st_size / 2**20:.0f} MiB)")
