"""Progress of the background queue (shared by the Export and Pick tabs): overall, this job, log."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPlainTextEdit, QProgressBar


class QueueProgress(QGroupBox):
    def __init__(self, queue, parent=None):
        super().__init__("Progress", parent)
        self.overall = QProgressBar()
        self.job = QProgressBar()
        for bar in (self.overall, self.job):
            bar.setRange(0, 1000)
        self.overall_label = QLabel()
        self.job_label = QLabel()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMinimumHeight(100)
        form = QFormLayout(self)
        form.addRow("All", self.overall)
        form.addRow(self.overall_label)
        form.addRow("This one", self.job)
        form.addRow(self.job_label)
        form.addRow(self.log)
        queue.job_progress.connect(lambda f, m: (self.job.setValue(int(f * 1000)), self.job_label.setText(m)))
        queue.overall_progress.connect(lambda f, m: (self.overall.setValue(int(f * 1000)),
                                                     self.overall_label.setText(m)))
        queue.log.connect(self.log.appendPlainText)
