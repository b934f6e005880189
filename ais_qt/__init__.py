"""Ais-Qt: cryo-ET tomogram segmentation, from raw volumes to features, particles and meshes."""

__version__ = "0.1.0"
