"""Annotation: features, masks, painting, undoable edits, interpolation, measurements."""
