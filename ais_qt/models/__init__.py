"""Domain state and algorithms. Never imports Qt, pyqtgraph or VTK (see DESIGN.md)."""
