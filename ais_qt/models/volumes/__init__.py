"""Volumes: opening tomograms, display, label volumes, writing segmentations, planes across slices, the sample."""
