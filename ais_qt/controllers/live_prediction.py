"""Live prediction of the current slice by every visible network, in the background.

Whenever the slice, the tomogram or a network's weights change, the slice is predicted in the
thread pool (one job at a time; the newest request wins, so scrolling fast never queues work).
Raw probabilities are cached per (tomogram, slice, network weights) as uint8; the interaction
graph is applied on top, and a result is shown only if it is for the slice on screen.

While the side views are open (``fill``), idle time predicts the slices around the current one,
nearest first, so the XZ and YZ views show the networks' answer across slices as it comes in.
Otherwise idle time predicts the slices the user is likely to step to next (``PREFETCH``: the next in
the direction of the last move, then the one behind), so stepping slice by slice shows the overlay at once
rather than after a slice's prediction (0.5 s for 1024 x 1024 on 2 cores; bench/live_scroll.py);
not while a training or batch job runs, which needs the CPU more. A slice predicted ahead is
cancelled when the user goes elsewhere, so a jump never waits for it.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.learning.engine import Cancelled, CancelScope
from ais_qt.models.learning.inference import SlicePredictor, slice_statistics


# Slices predicted ahead of the user, as steps from the current one (+1: the direction of the last
# move). Each step on starts the next one's prediction, so one ahead suffices.
PREFETCH = (1, -1)


class LivePrediction(QObject):
    ready = Signal(object, int, dict)  # OpenTomogram, z, {feature name: probabilities float32}
    stored = Signal(object)  # OpenTomogram with newly predicted slices (for the side views)
    failed = Signal(str)

    def __init__(self, sessions, library_source, cache_slices: int = 48, busy=lambda: False):
        super().__init__()
        self.sessions = sessions
        self.session = sessions.session
        self.library_source = library_source  # callable -> ArchitectureLibrary
        self.cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.cache_slices = cache_slices
        self._shown_key = None  # what was last shown, so filling the side views does not redraw it
        self.fill_budget = 0  # bytes of cached slices the side views may ask for; 0 = current slice only
        self.running = False
        self.enabled = True
        self.item = None
        self.prefetch = PREFETCH
        # () -> bool: whether a training or batch job is running; the prefetch gives it the CPU.
        self.busy = busy
        self._last_z, self._direction = None, 1
        self._guess = None  # (CancelScope, (tomogram id, z)) of the slice being predicted ahead
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
        self._last_z = None
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

    def shutdown(self) -> None:
        """Stop listening to the session, which outlives the window whose views show the results."""
        self.session.current_changed.disconnect(self._attach)
        self.session.networks.added.disconnect(self._networks_changed)
        self.session.networks.removed.disconnect(self._networks_changed)
        self.session.interactions.changed.disconnect(self.schedule)
        for network in self._watched:
            network.changed.disconnect(self.schedule)
        self._watched = []
        if self.item is not None:
            self.item.z_changed.disconnect(self.schedule)
            self.item = None
        self.timer.stop()

    def schedule(self, *_):
        self._shown_key = None  # something changed: show again even if the slice is the same
        self.timer.start()

    # ------------------------------------------------------------- requests
    def _key(self, item, z, network) -> tuple:
        return id(item.tomogram), z, id(network), network.weights_version

    def request(self) -> None:
        """Show the current slice's predictions now if cached, else predict them in the background."""
        item, networks = self.item, self.active_networks()
        if item is None or not networks or not self.enabled:
            self.ready.emit(item, item.z if item else -1, {})
            return
        z = item.z
        if self._last_z is not None and z != self._last_z:
            self._direction = 1 if z > self._last_z else -1
        self._last_z = z
        missing = [n for n in networks if self._key(item, z, n) not in self.cache]
        if missing and self._guess is not None and self._guess[1] != (id(item.tomogram), z):
            self._guess[0].cancel()  # a slice predicted ahead that the user did not go to: stop it
        if not missing:
            shown = (id(item), z, tuple(self._key(item, z, n) for n in networks))
            if shown != self._shown_key:
                self._shown_key = shown
                self._show(item, z, networks)
            z = self._next_fill(item, networks)
            if z is None:
                return
            missing = [n for n in networks if self._key(item, z, n) not in self.cache]
        if self.running:
            return  # _done requests again for whatever slice is on screen then
        self.running = True
        tomogram, library = item.tomogram, self.library_source()
        image = tomogram.slice(z)
        # A slice other than the one on screen is a guess (prefetch, side views): cancellable.
        guess = CancelScope() if z != item.z else None
        self._guess = (guess, (id(tomogram), z)) if guess else None

        def work(progress):
            out = {}
            try:
                with guess or contextlib.nullcontext():
                    for network in missing:
                        predictor = SlicePredictor(network, library=library, live=True)
                        scale = predictor.scale_for(tomogram.voxel_size)
                        out[network] = predictor.predict(image, scale, slice_statistics(network, tomogram))
            except Cancelled:
                return None
            return out

        self.sessions.runner.start(work, "Live prediction",
                                   finished=lambda result: self._store(item, z, result),
                                   failed=self.failed.emit, done=self._done)

    def _capacity(self, item) -> int:
        """Cached slices allowed: the usual few, or as many as the side views' budget holds."""
        ny, nx = item.annotation.slice_shape
        return max(self.cache_slices, self.fill_budget // max(ny * nx, 1))

    def _fill_slices(self, item, networks) -> int:
        """How many slices around the current one the side views get (each network's share)."""
        if not self.fill_budget:
            return 0
        return min(item.tomogram.shape[0], self._capacity(item) // max(len(networks), 1) - 1)

    def _next_fill(self, item, networks) -> int | None:
        """The next slice to predict while idle, if any: the nearest to the current one that the side
        views still lack, or without them the next prefetched one."""
        count = self._fill_slices(item, networks)
        nz, z0 = item.tomogram.shape[0], item.z
        if count > 0:
            order = sorted(range(nz), key=lambda z: abs(z - z0))[:count]
        elif self.busy():
            return None
        else:
            order = [z0 + step * self._direction for step in self.prefetch if 0 <= z0 + step * self._direction < nz]
        return next((z for z in order if any(self._key(item, z, n) not in self.cache for n in networks)), None)

    def set_fill(self, budget_bytes: int) -> None:
        """Let idle time predict slices around the current one up to this many bytes (0: stop)."""
        self.fill_budget = int(budget_bytes)
        self.schedule()

    def _store(self, item, z, result: dict | None) -> None:
        if result is None:  # cancelled
            return
        for network, probabilities in result.items():
            self.cache[self._key(item, z, network)] = np.round(probabilities * 255).astype(np.uint8)
        # The slices nearest the current one stay longest: evict the farthest first.
        capacity = self._capacity(item)
        if len(self.cache) > capacity:
            here = id(item.tomogram), item.z
            ranked = sorted(self.cache, key=lambda k: (k[0] == here[0], -abs(k[1] - here[1])))
            for key in ranked[:len(self.cache) - capacity]:
                del self.cache[key]
        if self.fill_budget:
            self.stored.emit(item)

    def predicted_plane(self, item, network, axis: str, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities 0..255 uint8 (Z, width), known (Z,) bool) of the predicted slices' rows
        (XZ at row ``index``) or columns (YZ at column ``index``)."""
        nz, ny, nx = item.tomogram.shape
        values = np.zeros((nz, nx if axis == "xz" else ny), np.uint8)
        known = np.zeros(nz, bool)
        tomogram, wanted = id(item.tomogram), (id(network), network.weights_version)
        for (t, z, *which), probabilities in self.cache.items():
            if t == tomogram and tuple(which) == wanted and 0 <= z < nz:
                values[z] = probabilities[index] if axis == "xz" else probabilities[:, index]
                known[z] = True
        return values, known

    def slice_probabilities(self, item, network, z: int) -> np.ndarray | None:
        """A network's cached probabilities (0..1) of one slice, or None if not predicted yet."""
        cached = self.cache.get(self._key(item, z, network))
        return None if cached is None else cached.astype(np.float32) / 255

    def _done(self) -> None:
        self.running = False
        self._guess = None
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
