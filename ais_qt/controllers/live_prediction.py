"""Live prediction of the current slice by every visible network, in the background.

Whenever the slice, the tomogram or a network's weights change, the slice is predicted in the
thread pool (one job at a time; the newest request wins, so scrolling fast never queues work).
Raw probabilities are cached per (tomogram, slice, network weights) as uint8; the interaction
graph is applied on top, and a result is shown only if it is for the slice on screen.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.inference import SlicePredictor, slice_statistics


class LivePrediction(QObject):
    ready = Signal(object, int, dict)  # OpenTomogram, z, {feature name: probabilities float32}
    failed = Signal(str)

    def __init__(self, sessions, library_source, cache_slices: int = 48):
        super().__init__()
        self.sessions = sessions
        self.session = sessions.session
        self.library_source = library_source  # callable -> ArchitectureLibrary
        self.cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.cache_slices = cache_slices
        self.running = False
        self.enabled = True
        self.item = None
        self.timer = coalescing_timer(self, 15, self.request)  # PageDown held: one request, not dozens
        self.session.current_changed.connect(self._attach)
        self.session.networks.added.connect(self._networks_changed)
        self.session.networks.removed.connect(self._networks_changed)
        self.session.interactions.changed.connect(self.schedule)  # cached slices, new rules
        self._watched = []
        self._attach(self.session.current)
        self._networks_changed()

    def active_networks(self):
        return [n for n in self.session.networks if n.trained and n.info.visible]

    def _attach(self, item) -> None:
        if self.item is not None:
            self.item.z_changed.disconnect(self.schedule)
        self.item = item
        if item is not None:
            item.z_changed.connect(self.schedule)
        self.schedule()

    def _networks_changed(self, *_):
        for network in self._watched:
            network.changed.disconnect(self.schedule)
        self._watched = list(self.session.networks)
        for network in self._watched:
            network.changed.connect(self.schedule)
        self.schedule()

    def schedule(self, *_):
        self.timer.start()

    # ------------------------------------------------------------- requests
    def _key(self, item, z, network) -> tuple:
        return id(item.tomogram), z, id(network), id(network.model)

    def request(self) -> None:
        """Show the current slice's predictions now if cached, else predict them in the background."""
        item, networks = self.item, self.active_networks()
        if item is None or not networks or not self.enabled:
            self.ready.emit(item, item.z if item else -1, {})
            return
        z = item.z
        missing = [n for n in networks if self._key(item, z, n) not in self.cache]
        if not missing:
            self._show(item, z, networks)
            return
        if self.running:
            return  # _done requests again for whatever slice is on screen then
        self.running = True
        tomogram, library = item.tomogram, self.library_source()
        image = tomogram.slice(z)

        def work(progress):
            out = {}
            for network in missing:
                predictor = SlicePredictor(network, library=library, live=True)
                scale = predictor.scale_for(tomogram.voxel_size)
                out[network] = predictor.predict(image, scale, slice_statistics(network, tomogram))
            return out

        self.sessions.runner.start(work, "Live prediction",
                                   finished=lambda result: self._store(item, z, result),
                                   failed=self.failed.emit, done=self._done)

    def _store(self, item, z, result: dict) -> None:
        for network, probabilities in result.items():
            self.cache[self._key(item, z, network)] = np.round(probabilities * 255).astype(np.uint8)
        while len(self.cache) > self.cache_slices:
            self.cache.popitem(last=False)

    def _done(self) -> None:
        self.running = False
        self.request()  # the slice on screen now: shown from cache, or predicted next

    def _show(self, item, z, networks) -> None:
        predictions = {}
        for network in networks:
            key = self._key(item, z, network)
            self.cache.move_to_end(key)
            predictions[network.info.feature] = self.cache[key].astype(np.float32) / 255
        try:
            predictions = self.session.interactions.apply(predictions, item.tomogram.voxel_size)
        except Exception as e:  # e.g. radius in nm without a voxel size: show raw, say why
            self.failed.emit(str(e))
        self.ready.emit(item, z, predictions)
