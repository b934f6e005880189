"""Each visible network's prediction of the current slice, drawn in its colour above its threshold."""

from __future__ import annotations

from ais_qt.views.overlays import MaskOverlay

PREDICTION_OPACITY = 0.45


class PredictionLayer:
    """Draws what LivePrediction delivers, but only for the slice that is on screen."""

    def __init__(self, slice_view, live, session):
        self.view, self.box, self.session = slice_view, slice_view.view_box, session
        self.overlays: dict[str, MaskOverlay] = {}
        self.shown: tuple | None = None  # (tomogram id, z) of what is drawn
        live.ready.connect(self.show)

    def show(self, item, z: int, predictions: dict) -> None:
        current = self.session.current
        if item is not current or current is None or z != current.z:
            return  # stale: the user has moved on
        networks = {n.info.feature: n for n in self.session.networks}
        for name in list(self.overlays):
            if name not in predictions or self.overlays[name].buffer.shape != current.annotation.slice_shape:
                self.box.removeItem(self.overlays.pop(name))
        for name, probabilities in predictions.items():
            network = networks.get(name)
            if network is None:
                continue
            overlay = self.overlays.get(name)
            if overlay is None:
                overlay = self.overlays[name] = MaskOverlay(network, current.annotation.slice_shape, z_value=5)
                self.box.addItem(overlay)
            overlay.restyle(network.info.colour, PREDICTION_OPACITY, network.info.visible)
            overlay.show_mask(probabilities >= network.info.threshold)
        self.shown = (id(current.tomogram), z)
