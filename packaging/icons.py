"""The application icon in the sizes the platforms need, rendered from the one SVG source
(ais_qt/resources/icon.svg, which the running app also reads): PNGs for the Linux icon theme
(hicolor 16…512) and a Windows .ico holding 16…256 (PNG-compressed entries, as Windows Vista and
later read them).

    python packaging/icons.py OUT_FOLDER
"""

from __future__ import annotations

import os
import struct
import sys
from importlib import resources
from pathlib import Path

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(svg: bytes, size: int) -> bytes:
    """The SVG drawn at ``size`` x ``size`` pixels, antialiased, on a transparent background."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841  (painting needs one)
    image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    QSvgRenderer(QByteArray(svg)).render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    """A .ico file of PNG images (ICONDIR, one ICONDIRENTRY each, then the PNG data)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        # Width and height 0 mean 256; 32 bits per pixel.
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
        blobs += blob
    return header + entries + blobs


def make_icons(folder: str | os.PathLike) -> list[Path]:
    """ais-qt-SIZE.png for every PNG size and ais-qt.ico, in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    svg = resources.files("ais_qt.resources").joinpath("icon.svg").read_bytes()
    pngs = {size: render_png(svg, size) for size in PNG_SIZES}
    written = []
    for size, data in pngs.items():
        path = folder / f"ais-qt-{size}.png"
        path.write_bytes(data)
        written.append(path)
    path = folder / "ais-qt.ico"
    path.write_bytes(ico({size: pngs[size] for size in ICO_SIZES}))
    return written + [path]


if __name__ == "__main__":
    for written in make_icons(sys.argv[1] if len(sys.argv) > 1 else "build/icons"):
        print(written)
