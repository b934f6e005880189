"""Network architectures, one file each, following the template in DESIGN.md.

Each module defines ``title``, ``params`` and ``create(tile_size, **params) -> keras.Model``.
"""
