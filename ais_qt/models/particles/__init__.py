"""Particles: picking blobs and filaments, orientations, pick edits, meshes."""
