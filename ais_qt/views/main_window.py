"""The main window: workflow tabs on the left, the slice view in the middle, open tomograms on the right."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QStackedWidget

from ais_qt import __version__
from ais_qt.controllers.project_controller import ProjectController, is_project_path
from ais_qt.controllers.session_controller import SessionController
from ais_qt.controllers.batch_controller import BatchQueue
from ais_qt.controllers.live_prediction import LivePrediction
from ais_qt.controllers.training_controller import TrainingController
from ais_qt.models.formats.ais_training_sets import load_scnt
from ais_qt.models.annotation.editing import Editor
from ais_qt.models.errors import AisError
from ais_qt.models.learning.network import is_network_path
from ais_qt.models.project import SUFFIX
from ais_qt.models.volumes.tomogram import VOLUME_SUFFIXES
from ais_qt.models.learning.training_set import TrainingSet
from ais_qt.views.annotation_layer import AnnotationLayer
from ais_qt.views.disagreement_layer import DisagreementLayer
from ais_qt.views.label_dialog import export_labels, import_labels
from ais_qt.views.ortho_layout import OrthoLayout
from ais_qt.views.particle_layer import ParticleLayer
from ais_qt.views.prediction_layer import PredictionLayer
from ais_qt.views.render_tab import RenderTab
from ais_qt.views.ruler_layer import RulerLayer
from ais_qt.views.preferences_dialog import PreferencesDialog
from ais_qt.views.shortcuts_dialog import ShortcutsDialog
from ais_qt.views.slice_view import SliceView
from ais_qt.views.tomogram_list import TomogramList
from ais_qt.views.workflow_tabs import WorkflowTabs

_VOLUMES = " ".join(f"*{s}" for s in VOLUME_SUFFIXES)
FILE_FILTER = (f"Tomograms and projects ({_VOLUMES} *{SUFFIX});;Tomograms ({_VOLUMES});;"
               f"Ais-Qt projects (*{SUFFIX});;All files (*)")


def app_icon() -> QIcon:
    pixmap = QPixmap()
    pixmap.loadFromData(resources.files("ais_qt.resources").joinpath("icon.svg").read_bytes())
    return QIcon(pixmap)


class MainWindow(QMainWindow):
    def __init__(self, controller: SessionController, autosave_seconds: float | None = None):
        super().__init__()
        self.controller = controller
        session = controller.session
        self.editor = Editor(session)
        self.project = ProjectController(controller, autosave_seconds)
        self.training = TrainingController(controller)
        self.queue = BatchQueue(controller, lambda: self.training.library)
        self.setWindowTitle("Ais-Qt")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.setMinimumSize(1200, 800)

        self.slice_view = SliceView(session)
        self.centre = QStackedWidget()  # the slice views, or the 3D view while the Render tab is open
        self.setCentralWidget(self.centre)
        self.workflow = WorkflowTabs(self.editor, self.training, self.queue)
        self.annotation_layer = AnnotationLayer(self.slice_view, self.editor)
        self.live = LivePrediction(controller, lambda: self.training.library,
                                   busy=lambda: self.training.running or self.queue.running)
        self.prediction_layer = PredictionLayer(self.slice_view, self.live, session)
        self.particle_layer = ParticleLayer(self.slice_view, self.editor)
        self.annotation_layer.prediction_source = self._prediction_of_active
        self.disagreement = DisagreementLayer(self.slice_view, self.live, session)
        self.rulers = RulerLayer(self.slice_view, self.editor)
        self.ortho = OrthoLayout(self.slice_view, self.annotation_layer, self.editor, self.live, controller.runner)
        for plane in self.ortho.planes:
            plane.particles = self.particle_layer
        # The side views stay as the user left them, from one start to the next.
        self.ortho.set_shown(str(controller.settings.value("view/side_views", "false")).lower() == "true")
        self.ortho.toggle_action.toggled.connect(lambda shown: controller.settings.setValue("view/side_views", shown))
        self.centre.addWidget(self.ortho)
        self.render_tab = RenderTab(self.editor, controller.runner, self.workflow.export.output_folder,
                                    self.slice_view, self.particle_layer)
        self.workflow.addTab(self.render_tab, "Render")
        self.centre.addWidget(self.render_tab.view)
        self.tomogram_list = TomogramList(session)
        self.workflow_dock = self._dock("Workflow", self.workflow, Qt.LeftDockWidgetArea)
        self.tomogram_dock = self._dock("Tomograms", self.tomogram_list, Qt.RightDockWidgetArea)
        self.cursor_label = QLabel()
        self.statusBar().addPermanentWidget(self.cursor_label)
        self.last_message_box: QMessageBox | None = None
        self.remember_layout = True  # off for scripted screenshots, which must not change the user's layout

        self._build_menus()
        self.slice_view.cursor_moved.connect(self.cursor_label.setText)
        for plane in self.ortho.planes:
            plane.cursor_moved.connect(self.cursor_label.setText)
        self.slice_view.levels_shown.connect(self.workflow.display_panel.show_levels)
        self.tomogram_list.close_requested.connect(self.close_tomogram)
        self.tomogram_list.problem.connect(self._show_status)
        self.annotation_layer.message.connect(self._show_status)
        self.disagreement.message.connect(self._show_status)
        self.rulers.message.connect(self._show_status)
        self.workflow.models.networks.problem.connect(self.show_error)
        self.workflow.models.interactions.problem.connect(self.show_error)
        self.workflow.pick.problem.connect(self.show_error)
        self.render_tab.problem.connect(self.show_error)
        self.workflow.pick.state_changed.connect(self._pick_state)
        self.workflow.currentChanged.connect(self._tab_changed)
        self.live.failed.connect(self._show_status)
        for source in (controller, self.project):
            source.status.connect(self._show_status)
            source.error.connect(self.show_error)
        controller.recent_changed.connect(self._fill_recent_menu)
        session.current_changed.connect(self._update_title)
        self.project.state_changed.connect(self._update_title)
        session.history.changed.connect(self._update_undo_actions)
        self._update_undo_actions()
        self._restore_layout()

    def _pick_state(self, state) -> None:
        colour = self.controller.session.colour_of(state.feature) if state is not None else None
        if self.particle_layer.state is not None:
            self.particle_layer.state.changed.disconnect(self.render_tab.update_particles)
        self.particle_layer.set_state(state, colour)
        if state is not None:
            state.changed.connect(self.render_tab.update_particles)
        self.render_tab.update_particles()

    def _prediction_of_active(self, item, z):
        """(probabilities, threshold) of the active feature's network on slice z, if predicted."""
        feature = self.controller.session.features.active
        network = self.controller.session.networks.for_feature(feature.name) if feature else None
        if network is None or not network.trained:
            return None
        probabilities = self.live.slice_probabilities(item, network, z)
        return None if probabilities is None else (probabilities, network.info.threshold)

    def _tab_changed(self, _index: int) -> None:
        """The open tab decides what a click on the slice does: paint, or add/remove particles."""
        picking = self.workflow.currentWidget() is self.workflow.pick
        self.slice_view.view_box.handler = self.particle_layer if picking else self.annotation_layer
        rendering = self.workflow.currentWidget() is self.render_tab
        self.centre.setCurrentWidget(self.render_tab.view if rendering else self.ortho)

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    # -------------------------------------------------------------------- menus
    def _action(self, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action("&New project", self.new_project, QKeySequence.New)
        self.open_action = self._action("&Open tomograms or project…", self.open_dialog, QKeySequence.Open)
        self.sample_action = self._action("Open &sample tomogram", self.controller.open_sample, "Ctrl+Shift+O")
        self.save_action = self._action("&Save project", self.save_project, QKeySequence.Save)
        self.save_as_action = self._action("Save project &as…", self.save_project_as, "Ctrl+Shift+S")
        self.import_action = self._action("&Import label volume…", lambda: import_labels(self))
        self.export_action = self._action("&Export feature as label volume…", lambda: export_labels(self))
        self.import_set_action = self._action("Import &training set (Ais .scnt or Ais-Qt .npz)…",
                                              lambda: self.import_training_set())
        self.close_action = self._action("&Close tomogram", lambda: self.close_tomogram(), "Ctrl+W")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.Quit)
        file_menu.addActions([self.new_action, self.open_action, self.sample_action])
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.save_as_action])
        file_menu.addSeparator()
        file_menu.addActions([self.import_action, self.export_action, self.import_set_action])
        file_menu.addSeparator()
        file_menu.addActions([self.close_action, self.quit_action])
        self._fill_recent_menu()

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action("&Undo", self.editor.undo, QKeySequence.Undo)
        self.redo_action = self._action("&Redo", self.editor.redo, "Ctrl+Shift+Z")
        for action in (self.undo_action, self.redo_action):  # their text changes; the reference keeps this name
            action.setData(action.text().replace("&", ""))
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addActions([self.undo_action, self.redo_action])
        edit_menu.addSeparator()
        self.preferences_action = self._action("&Preferences…", self.show_preferences, QKeySequence.Preferences)
        edit_menu.addAction(self.preferences_action)
        annotate_menu = self.menuBar().addMenu("&Annotate")
        annotate_menu.addActions(self.annotation_layer.actions)
        annotate_menu.addSeparator()
        panel = self.workflow.models.training_panel
        self.retrain_action = self._action("Re&train the active feature's network", lambda: panel.retrain(), "Ctrl+T")
        self.retrain_fresh_action = self._action("Retrain it from scratch", lambda: panel.retrain(fresh=True),
                                                 "Ctrl+Shift+T")
        annotate_menu.addActions([self.retrain_action, self.retrain_fresh_action, self.disagreement.action])
        annotate_menu.addSeparator()
        annotate_menu.addActions(self.rulers.actions)

        view_menu = self.menuBar().addMenu("&View")
        view_menu.addActions(self.slice_view.actions)
        view_menu.addAction(self.ortho.toggle_action)
        view_menu.addSeparator()
        view_menu.addActions([self.workflow_dock.toggleViewAction(), self.tomogram_dock.toggleViewAction()])

        help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts, "F1")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self._action("&About Ais-Qt", self._about))

    def all_actions(self) -> list[QAction]:
        """Every keyboard action of the window, for the shortcuts reference."""
        return [self.new_action, self.open_action, self.sample_action, self.save_action, self.save_as_action,
                self.close_action, self.quit_action, self.undo_action, self.redo_action,
                *self.slice_view.actions, self.ortho.toggle_action, *self.ortho.xz.actions,
                *self.annotation_layer.actions, self.retrain_action, self.retrain_fresh_action,
                self.disagreement.action, *self.rulers.actions,
                *self.tomogram_list.actions(),
                self.shortcuts_action]

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.controller.recent_files()
        for i, path in enumerate(recent):
            label = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
            action = self.recent_menu.addAction(label)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_any([p]))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.controller.clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------ actions
    def open_dialog(self) -> None:
        start = str(Path(self.controller.recent_files()[0]).parent) if self.controller.recent_files() else ""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open tomograms or a project", start, FILE_FILTER)
        if paths:
            self.open_any(paths)

    def open_any(self, paths) -> None:
        """Tomograms are added to the session; a project replaces it (unsaved work is saved first);
        networks (.aisnet, the original Ais's .scnm) join the Models tab. Double-clicked files in a
        file manager arrive here too."""
        networks = [p for p in paths if is_network_path(p)]
        paths = [p for p in paths if not is_network_path(p)]
        projects = [p for p in paths if is_project_path(p)]
        if projects:
            saved = self.project.save_on_close()
            if saved is not None and saved != self.project.path:
                self._show_status(f"Unsaved annotations were kept in {saved}")
            self.project.open(projects[0])
        volumes = [p for p in paths if not is_project_path(p)]
        if volumes:
            self.controller.open_paths(volumes)
        if networks:
            self.workflow.models.networks.load([str(p) for p in networks])
            self.workflow.setCurrentWidget(self.workflow.models)

    def new_project(self) -> None:
        self.project.save_on_close()
        self.project.new()

    def save_project(self) -> bool:
        return self.project.save() if self.project.path else self.save_project_as()

    def save_project_as(self, path: str | None = None) -> bool:
        if path is None:
            start = str(self.project.path or Path.home() / f"annotations{SUFFIX}")
            path, _ = QFileDialog.getSaveFileName(self, "Save project", start, f"Ais-Qt project (*{SUFFIX})")
            if not path:
                return False
        return self.project.save(path)

    def close_tomogram(self, item=None) -> QMessageBox | None:
        """Close a tomogram; one with annotations asks first, since closing drops them from the project."""
        item = item or self.controller.session.current
        if item is None:
            return None
        annotation = item.annotation
        if not (annotation.masks or annotation.boxes):
            self.controller.close(item)
            return None
        box = QMessageBox(QMessageBox.Question, "Close tomogram",
                          f"Close {item.tomogram.name}? Its annotations will no longer be part of the project.",
                          QMessageBox.Cancel, self)
        box.addButton("Close tomogram", QMessageBox.AcceptRole)  # the standard Close button rejects
        box.accepted.connect(lambda: self.controller.close(item))
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.last_message_box = box
        return box

    def _update_undo_actions(self) -> None:
        history = self.controller.session.history
        self.undo_action.setEnabled(history.can_undo)
        self.redo_action.setEnabled(history.can_redo)
        self.undo_action.setText(f"&Undo {history.undo_text}".rstrip())
        self.redo_action.setText(f"&Redo {history.redo_text}".rstrip())

    def show_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.training, self.project, self)
        dialog.open()
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.all_actions(), self)
        dialog.open()
        return dialog

    def _about(self) -> None:
        QMessageBox.about(self, "About Ais-Qt",
                          f"<b>Ais-Qt {__version__}</b><p>Segmentation of cryo-electron tomograms: annotate, "
                          "train small networks, segment, pick particles and render.</p>"
                          "<p>A re-implementation of Ais (Last et al., eLife 2024).</p>")

    def import_training_set(self, path: str | None = None) -> None:
        """A training set from Ais (.scnt) or saved here (.npz) into the Models tab, ready to train;
        its feature is added when the session has none of that name."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import a training set", "",
                                                  "Training sets (*.scnt *.npz);;Ais training sets (*.scnt);;"
                                                  "Ais-Qt training sets (*.npz)")
            if not path:
                return
        try:
            training_set = load_scnt(path) if str(path).lower().endswith(".scnt") else TrainingSet.load(path)
        except AisError as e:
            self.show_error(str(e))
            return
        name = training_set.metadata["feature"]
        feature = self.controller.session.features.by_name(name) or self.editor.add_feature(name)
        training_set.metadata["colour"] = training_set.metadata.get("colour") or feature.colour
        self.workflow.setCurrentWidget(self.workflow.models)
        self.training.use_training_set(training_set)
        self.statusBar().showMessage(f"Imported {Path(path).name}: {training_set.summary()}", 8000)

    def show_error(self, text: str) -> None:
        """A non-blocking message box (the GUI and background tasks keep running)."""
        self.statusBar().showMessage(text.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Warning, "Ais-Qt", text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.last_message_box = box

    def _show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _update_title(self, *_):
        item = self.controller.session.current
        parts = [item.tomogram.name] if item is not None else []
        parts.append(self.project.title + ("*" if self.project.dirty else ""))
        self.setWindowTitle(" — ".join([*parts, "Ais-Qt"]))

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event):
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_any(paths)

    # ------------------------------------------------------------------- layout
    def _restore_layout(self) -> None:
        state = self.controller.settings.value("window/state")
        geometry = self.controller.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self._default_dock_sizes = not (isinstance(state, QByteArray) and self.restoreState(state))

    def showEvent(self, event):
        super().showEvent(event)
        if self._default_dock_sizes:  # docks only take sizes once the window is laid out
            self._default_dock_sizes = False
            self.resizeDocks([self.workflow_dock, self.tomogram_dock], [340, 360], Qt.Horizontal)

    def closeEvent(self, event):
        self.project.timer.stop()
        self.render_tab.view.shutdown()
        self.live.shutdown()
        for runner in (self.controller.runner, self.training.runner):
            runner.shutdown()
        saved = self.project.save_on_close()
        if saved is not None and saved != self.project.path:
            print(f"Unsaved annotations were kept in {saved} (File > Open recent)")
        if self.remember_layout:
            self.controller.settings.setValue("window/geometry", self.saveGeometry())
            self.controller.settings.setValue("window/state", self.saveState())
            self.controller.settings.sync()
        super().closeEvent(event)
