"""The installers' parts that can be checked without building them (./dev.sh bundle builds and
smoke-tests the real ones): the spec collects every module, the icons, the .deb and .tar.gz layouts,
install.sh / uninstall.sh, and which executable does what."""

from __future__ import annotations

import importlib.util
import os
import pkgutil
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import ais_qt

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_spec_collects_every_module_and_builds_both_executables(tmp_path):
    """The spec run with PyInstaller's build steps recorded instead of performed."""
    recorded = {}

    class Analysis:
        def __init__(self, scripts, **kwargs):
            recorded["analysis"] = dict(kwargs, scripts=scripts)
            self.pure, self.scripts, self.binaries, self.datas = [], scripts, [], kwargs["datas"]

    def EXE(*args, **kwargs):  # noqa: N802  (PyInstaller's names)
        recorded.setdefault("exe", []).append(kwargs)
        return kwargs["name"]

    def COLLECT(*args, **kwargs):  # noqa: N802
        recorded["collect"] = (args, kwargs)

    namespace = {"SPECPATH": str(PACKAGING), "workpath": str(tmp_path), "Analysis": Analysis, "PYZ": lambda pure: pure,
                 "EXE": EXE, "COLLECT": COLLECT, "__file__": str(PACKAGING / "ais-qt.spec")}
    exec(compile((PACKAGING / "ais-qt.spec").read_text(), "ais-qt.spec", "exec"), namespace)

    analysis = recorded["analysis"]
    modules = {m.name for m in pkgutil.walk_packages(ais_qt.__path__, "ais_qt.")} | {"ais_qt"}
    assert modules - set(analysis["hiddenimports"]) == set()
    assert any(Path(source).name == "icon.svg" for source, _ in analysis["datas"])
    # OpenVINO's run-time-loaded libraries (versioned names too): without the IR frontend the bundle
    # converted networks and could not read them back.
    openvino = [Path(source).name for source, dest in analysis["binaries"] if dest == "openvino/libs"]
    for need in ("openvino_ir_frontend", "openvino_tensorflow_frontend", "openvino_intel_cpu_plugin"):
        assert any(need in name for name in openvino), need
    assert [e["name"] for e in recorded["exe"]] == ["ais-qt", "ais-qt-cli"]
    assert [e["console"] for e in recorded["exe"]] == [False, True]  # no console window for the app on Windows
    assert recorded["collect"][1]["name"] == "ais-qt" and recorded["collect"][0][:2] == ("ais-qt", "ais-qt-cli")
    # Nothing the app imports is excluded.
    sources = "\n".join(p.read_text() for p in Path(ais_qt.__file__).parent.rglob("*.py"))
    for excluded in analysis["excludes"]:
        top = excluded.split(".")[0]
        assert f"import {excluded}" not in sources and f"from {excluded} " not in sources, excluded
        if top not in ("PySide6", "tensorflow"):
            assert f"import {top}" not in sources, excluded


def test_one_entry_point_is_the_window_or_the_commands_by_its_name(monkeypatch, capsys):
    entry = _module(PACKAGING / "entry.py", "ais_qt_entry")
    monkeypatch.setattr(sys, "executable", "/opt/ais-qt/ais-qt-cli")
    monkeypatch.setattr(sys, "argv", ["ais-qt-cli"])
    assert entry.main() == 2 and "{train,segment,pick,mesh,convert}" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["ais-qt-cli", "--version"])
    with pytest.raises(SystemExit) as exit_:
        entry.main()
    assert exit_.value.code == 0 and ais_qt.__version__ in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["ais-qt-cli", "tomogram.mrc"])  # the console program opens no window
    with pytest.raises(SystemExit) as exit_:
        entry.main()
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
    monkeypatch.setattr(sys, "executable", "C:\\Program Files\\Ais-Qt\\ais-qt.exe")
    monkeypatch.setattr(sys, "argv", ["ais-qt", "--version"])
    with pytest.raises(SystemExit):
        entry.main()
    assert f"ais-qt {ais_qt.__version__}" in capsys.readouterr().out


def test_icons_in_every_size_and_a_windows_ico(tmp_path):
    icons = _module(PACKAGING / "icons.py", "ais_qt_icons")
    written = icons.make_icons(tmp_path)
    for size in icons.PNG_SIZES:
        data = (tmp_path / f"ais-qt-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (size, size)
    ico = (tmp_path / "ais-qt.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(icons.ICO_SIZES))
    for i, size in enumerate(icons.ICO_SIZES):
        width, height, _, _, planes, bits, length, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * i:22 + 16 * i])
        assert (width or 256, height or 256, planes, bits) == (size, size, 1, 32)
        assert ico[offset:offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + length <= len(ico)
    assert len(written) == len(icons.PNG_SIZES) + 1


@pytest.fixture
def fake_bundle(tmp_path):
    """A bundle folder shaped like PyInstaller's, whose programs only say who they are."""
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    for name in ("ais-qt", "ais-qt-cli"):
        (bundle / name).write_text(f"#!/bin/sh\necho {name} \"$@\"\n")
        (bundle / name).chmod(0o755)
    icons = _module(PACKAGING / "icons.py", "ais_qt_icons").make_icons(tmp_path / "icons")
    return bundle, icons[0].parent


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_the_deb_puts_the_app_in_opt_on_path_with_menu_entry_and_file_types(fake_bundle, tmp_path):
    packages = _module(PACKAGING / "linux" / "packages.py", "ais_qt_packages")
    bundle, icons = fake_bundle
    deb = packages.build_deb(bundle, icons, tmp_path / "dist", "1.2.3")
    assert deb.name == "ais-qt_1.2.3_amd64.deb"
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: ais-qt" in info and "Version: 1.2.3" in info and "libxcb-cursor0" in info
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./opt/ais-qt/ais-qt", "./opt/ais-qt/ais-qt-cli", "./usr/bin/ais-qt -> /opt/ais-qt/ais-qt",
                 "./usr/bin/ais-qt-cli -> /opt/ais-qt/ais-qt-cli", "./usr/share/applications/ais-qt.desktop",
                 "./usr/share/mime/packages/ais-qt.xml", "./usr/share/icons/hicolor/256x256/apps/ais-qt.png"):
        assert path in contents, path
    assert "root/root" in contents.splitlines()[0]
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    desktop = (unpacked / "usr/share/applications/ais-qt.desktop").read_text()
    assert "Exec=ais-qt %F" in desktop and "application/x-ais-qt-project" in desktop
    mime = (unpacked / "usr/share/mime/packages/ais-qt.xml").read_text()
    assert '<glob pattern="*.aisqt"/>' in mime and '<glob pattern="*.aisnet"/>' in mime and "*.mrc" in mime


def test_the_tarball_installs_for_the_user_and_uninstalls(fake_bundle, tmp_path):
    packages = _module(PACKAGING / "linux" / "packages.py", "ais_qt_packages")
    bundle, icons = fake_bundle
    tarball = packages.build_tarball(bundle, icons, tmp_path / "dist", "1.2.3")
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "unpacked", filter="tar")
    top = tmp_path / "unpacked" / "ais-qt-1.2.3-linux-x86_64"
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(top / "install.sh")], env=env, check=True, capture_output=True)
    launched = subprocess.run([str(home / ".local/bin/ais-qt-cli"), "--version"], capture_output=True, text=True)
    assert launched.stdout.strip() == "ais-qt-cli --version"
    desktop = (home / ".local/share/applications/ais-qt.desktop").read_text()
    assert f"Exec={top}/ais-qt/ais-qt %F" in desktop
    assert (home / ".local/share/mime/packages/ais-qt.xml").exists()
    assert (home / ".local/share/icons/hicolor/48x48/apps/ais-qt.png").exists()
    subprocess.run([str(top / "uninstall.sh")], env=env, check=True, capture_output=True)
    leftovers = [p for p in home.rglob("*") if p.is_file() and "ais-qt" in p.name]
    assert leftovers == [] and not os.path.lexists(home / ".local/bin/ais-qt")
