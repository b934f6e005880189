"""Training a network on a training set, with live loss, a clean stop and the best weights kept.

Progress events (``progress.event``) carry {"batch": ...} after every batch and {"epoch": ...}
after every epoch, so the GUI can plot loss live and the command line can print it. Cancelling
the Progress stops after the current batch; the weights of the best epoch (lowest validation
loss, or training loss without validation) are kept, or the current ones if they are better.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ais_qt.models.backend import device_description, graph_lock, has_gpu, keras
from ais_qt.models.learning.calibration import calibrate, predict_tiles
from ais_qt.models.errors import AisError
from ais_qt.models.learning.network import Network, history_to_json, new_info
from ais_qt.models.learning.precision import training_policy
from ais_qt.models.learning.trainer import trainer_for
from ais_qt.models.progress import Progress
from ais_qt.models.learning.training_set import TrainingSet

LOSSES = ("bce+dice", "bce", "dice")
IGNORE = 2  # label value for pixels the user did not decide on: they add nothing to the loss


@dataclass
class TrainSettings:
    architecture: str = "unet"
    params: dict = field(default_factory=dict)
    epochs: int | None = None  # None: automatic, see epochs_for
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_split: float = 0.15  # whole boxes held back: best epoch, calibration, the Dice shown
    loss: str = "bce+dice"
    calibrate: bool = True  # make 0.5 the Dice-best threshold on held-back tiles (models/learning/calibration.py)
    # Automatic epochs: as many as make about auto_steps batches. A few positive boxes make an
    # epoch of two or three batches, and 20 such epochs never left the all-background start
    # (microtubules in 3 slices: Dice 0); a big set gets fewer epochs, so training takes about the
    # same time whatever was annotated (under 5 min for the default UNet on 2 CPU cores).
    auto_steps: int = 600
    precision: str = "float32"  # "auto": bfloat16 on CPUs with its instructions; "mixed_bfloat16" (precision.py)
    # Retraining from the network's current weights (correct-and-retrain): a few epochs are enough
    # to take in the corrections, about this many batches with automatic epochs.
    fine_tune_steps: int = 150
    seed: int = 0

    def epochs_for(self, batches: int, fine_tune: bool = False) -> int:
        """The epochs to train: as set, or automatically about ``auto_steps`` batches' worth
        (``fine_tune_steps`` when continuing from earlier weights)."""
        if self.epochs:
            return int(self.epochs)
        steps = self.fine_tune_steps if fine_tune else self.auto_steps
        return max(1, round(steps / max(batches, 1)))


def can_continue(network: Network | None, architecture: str, params: dict, tile_size: int, library) -> bool:
    """Whether a retraining can start from this network's weights (same architecture, parameters
    and tile size; a trained Keras model)."""
    if network is None or not network.trained or network.model is None:
        return False
    info = network.info
    return (info.architecture == architecture and info.tile_size == tile_size
            and info.params == library.get(architecture).checked_params(params))


def _known(y_true):
    """(target, weight): ignored pixels (label 2) get weight 0 and target 0."""
    ops = keras().ops
    weight = ops.cast(y_true < 1.5, "float32")
    return y_true * weight, weight


def bce_loss(y_true, y_pred):
    ops = keras().ops
    target, weight = _known(y_true)
    p = ops.clip(y_pred, 1e-7, 1 - 1e-7)
    bce = -(target * ops.log(p) + (1 - target) * ops.log(1 - p))
    return ops.sum(bce * weight) / ops.maximum(ops.sum(weight), 1.0)


def dice_loss(y_true, y_pred):
    """Soft Dice over the whole batch. Per tile it would reward predicting nothing: every empty
    negative tile would score a perfect 1, and training collapses to background."""
    ops = keras().ops
    target, weight = _known(y_true)
    intersection = ops.sum(target * y_pred * weight)
    total = ops.sum(target) + ops.sum(y_pred * weight)
    return 1.0 - (2.0 * intersection + 1.0) / (total + 1.0)


def bce_dice_loss(y_true, y_pred):
    """Cross-entropy keeps every pixel's probability honest; Dice keeps thin, rare features from
    being starved by the background (cross-entropy alone left membranes at probability 0.2-0.3)."""
    return bce_loss(y_true, y_pred) + dice_loss(y_true, y_pred)


LOSS_FUNCTIONS = {"bce+dice": bce_dice_loss, "bce": bce_loss, "dice": dice_loss}


def dice_iou(truth: np.ndarray, prediction: np.ndarray, threshold: float = 0.5) -> tuple[float, float]:
    """Dice and IoU of thresholded predictions over a whole set (1.0 when both are empty);
    ignored pixels (label 2) do not count."""
    known = truth < IGNORE
    t, p = (truth > 0.5) & known, (prediction > threshold) & known
    inter, union, total = np.logical_and(t, p).sum(), np.logical_or(t, p).sum(), t.sum() + p.sum()
    if total == 0:
        return 1.0, 1.0
    return float(2 * inter / total), float(inter / union)


class _Monitor:
    """Reports batches and epochs, honours Stop, remembers the best weights."""

    def __init__(self, model, progress: Progress, epochs: int, batches: int):
        self.model, self.progress, self.epochs, self.batches = model, progress, epochs, batches
        self.best, self.best_weights = np.inf, None
        self.started = time.perf_counter()
        self.epoch = 0
        self.epoch_losses: list[float] = []
        self.history: dict[str, list[float]] = {"loss": [], "batch_loss": []}
        self.stopped = False

    def batch_end(self, batch: int, loss: float) -> bool:
        """Record a batch; False when the user asked to stop."""
        self.epoch_losses.append(loss)
        self.history["batch_loss"].append(loss)
        done = self.epoch * self.batches + batch + 1
        total = self.epochs * self.batches
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / done * (total - done)
        if not self.progress.cancelled:
            self.progress.event({"batch": done, "epoch": self.epoch + 1, "loss": loss, "batches": total})
        if self.progress.cancelled:  # also when a listener cancelled during the event
            self.stopped = True
            return False
        self.progress.report(done / total, f"epoch {self.epoch + 1}/{self.epochs}, batch {batch + 1}/"
                                           f"{self.batches}, loss {loss:.4f}, {_duration(remaining)} left")
        return True

    def epoch_end(self, loss: float, val_loss: float | None) -> None:
        self.history["loss"].append(loss)
        if val_loss is not None:
            self.history.setdefault("val_loss", []).append(val_loss)
        monitored = val_loss if val_loss is not None else loss
        if monitored < self.best:
            self.best, self.best_weights = monitored, self.model.get_weights()
        self.progress.event({"epoch_end": self.epoch + 1, "epochs": self.epochs, "loss": loss, "val_loss": val_loss})
        self.epoch += 1
        self.epoch_losses = []

    def finish(self) -> None:
        """After a stop mid-epoch, keep the best epoch's weights unless the current ones are better."""
        if self.stopped and self.best_weights is not None:
            current = float(np.mean(self.epoch_losses)) if self.epoch_losses else np.inf
            if current >= self.best:
                self.model.set_weights(self.best_weights)
        elif not self.stopped and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def emptiness_warning(model, training_set: TrainingSet, threshold: float) -> str | None:
    """A sentence for the user when the network finds nothing (or everything) on its own positive
    tiles at its threshold, with what to try; None when its output looks like a segmentation."""
    positive = training_set.positive
    if not positive.any():
        return None
    take = np.flatnonzero(positive)[:256]
    x, y = training_set.x[take], training_set.y[take]
    known = y < IGNORE
    predicted = (predict_tiles(model, x) > threshold) & known
    truth = (y > 0.5) & known
    found, expected, pixels = int(predicted.sum()), int(truth.sum()), int(known.sum())
    if found < 0.05 * expected:
        return (f"the network finds almost nothing on its own positive boxes at threshold {threshold:.2f} "
                f"({found} of {expected} annotated pixels): annotate more of it (more slices or boxes), "
                f"train for more epochs, or lower the threshold")
    if found > 0.9 * pixels and expected < 0.5 * pixels:
        return (f"the network marks almost everything on its positive boxes at threshold {threshold:.2f}: "
                f"add negative boxes (empty boxes, or other features' boxes as negatives) and train again")
    return None


def result_text(info) -> str:
    """What training gave, in a sentence or two for the GUI and the command line."""
    parts = []
    metrics, calibration = info.metrics, info.calibration
    if "dice" in metrics:
        parts.append(f"Dice {metrics['dice']:.2f} on {metrics['validation_tiles']} held-back tiles at threshold "
                     f"{info.threshold:.2f}.")
    if calibration.get("shift"):
        parts.append(f"Calibrated: its best threshold {calibration['found']:.2f} is now 0.50.")
    if metrics.get("warning"):
        parts.append(f"Warning: {metrics['warning']}.")
    return " ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def train(training_set: TrainingSet, settings: TrainSettings, library, progress: Progress | None = None,
          network: Network | None = None, fine_tune: bool = False) -> Network:
    """Train a fresh network; retraining ``network``'s feature keeps its display settings.

    ``fine_tune``: start from ``network``'s weights (when it has the same architecture, parameters
    and tile size, see ``can_continue``) and train ``fine_tune_steps`` batches instead of
    ``auto_steps``; otherwise training starts afresh.

    ``network`` itself is never changed here (this runs in a worker thread, and the live overlay
    may be reading it): the caller adopts the result on the GUI thread (``Network.adopt``).
    """
    progress = progress or Progress()
    if settings.loss not in LOSSES:
        raise AisError(None, f"loss must be one of {LOSSES}")
    if len(training_set) == 0:
        raise AisError(None, "the training set is empty")
    arch = library.get(settings.architecture)
    s = training_set.tile_size
    if arch.fully_convolutional and s % arch.multiple(settings.params):
        raise AisError(None, f"{arch.title} needs tiles whose size is a multiple of {arch.multiple(settings.params)} "
                             f"px; the training set has {s} px tiles")
    keras().utils.set_random_seed(settings.seed)
    train_part, val_part = training_set.split(settings.validation_split, settings.seed)
    device = device_description()
    progress.report(0, f"Building {arch.title} on {device}")
    model = arch.create(s, settings.params)
    continued = fine_tune and can_continue(network, arch.key, settings.params, s, library)
    if continued:
        model.set_weights(network.model.get_weights())
    policy = training_policy(settings.precision, on_gpu=has_gpu())
    trainer = model if arch.adversarial else trainer_for(model, policy)  # (pix2pix trains its own two)
    if policy and trainer is not model:  # (a model that cannot be copied trains in float32)
        device += ", bfloat16 mixed precision"
    progress.event({"device": device})
    batches = int(np.ceil(len(train_part) / settings.batch_size))
    monitor = _Monitor(trainer, progress, settings.epochs_for(batches, continued), batches)
    with graph_lock:
        if arch.adversarial:
            _train_adversarial(arch, trainer, train_part, val_part, settings, monitor)
        else:
            _train_supervised(trainer, train_part, val_part, settings, monitor)
    monitor.finish()
    model = trainer
    # Calibrate and check on a fresh copy, then hand out another fresh copy that no thread has run
    # yet: TensorFlow crashed running a model in the live overlay's thread after this worker had run
    # it (and tracing predictions on the model whose fit() had been stopped mid-epoch).
    model = _fresh(arch, s, settings.params, model.get_weights())
    meta = training_set.metadata
    info = new_info(meta["feature"], meta.get("colour") or "#e69f00", arch, settings.params, s,
                    voxel_size=meta.get("voxel_size"), normalisation=meta.get("normalisation", "tile"))
    info.training = {**asdict(settings), "copies": meta.get("copies"), "negative_ratio": meta.get("negative_ratio"),
                     "tiles": len(training_set), "positive_boxes": meta.get("positive_boxes"),
                     "negative_boxes": meta.get("negative_boxes"), "stopped_early": monitor.stopped,
                     "epochs_run": monitor.epoch, "device": device, "continued": continued,
                     "seconds": round(time.perf_counter() - monitor.started, 1)}
    info.history = history_to_json(monitor.history)
    # Held-back tiles say where the boundary lies on unseen data; with no positive among them (a
    # single positive box), the training tiles are all there is.
    check = val_part if val_part is not None and val_part.positive.any() else training_set
    if settings.calibrate and not arch.adversarial:
        info.calibration = calibrate(model, check.x, check.y, check.y < IGNORE)
        info.threshold = info.calibration["threshold"]
    if val_part is not None:
        dice, iou = dice_iou(val_part.y, predict_tiles(model, val_part.x), info.threshold)
        info.metrics = {"dice": dice, "iou": iou, "validation_tiles": len(val_part)}
    warning = emptiness_warning(model, training_set, info.threshold)
    if warning:
        info.metrics["warning"] = warning
        progress.event({"warning": warning})
    if network is not None:  # retraining keeps the user's display settings
        # Not the threshold: the new weights have their own boundary (0.5 once calibrated).
        for name in ("visible", "emit", "absorb", "colour"):
            setattr(info, name, getattr(network.info, name))
    return Network(info, _fresh(arch, s, settings.params, model.get_weights()))


def _fresh(arch, tile_size: int, params: dict, weights):
    """A new model from the architecture with these weights: no compile, fit or traced state."""
    model = arch.create(tile_size, params)
    model.set_weights(weights)
    return model


def _optimizer(settings: TrainSettings, beta_1: float = 0.9):
    return keras().optimizers.Adam(learning_rate=settings.learning_rate, beta_1=beta_1)


def _train_supervised(model, train_part, val_part, settings, monitor) -> None:
    k = keras()
    model.compile(optimizer=_optimizer(settings), loss=LOSS_FUNCTIONS[settings.loss])

    class Callback(k.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if not monitor.batch_end(batch, float(logs["loss"])):
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if not monitor.stopped:
                monitor.epoch_end(float(logs["loss"]), float(logs["val_loss"]) if "val_loss" in logs else None)

    validation = (val_part.x, val_part.y) if val_part is not None else None
    model.fit(train_part.x, train_part.y, batch_size=settings.batch_size, epochs=monitor.epochs, shuffle=True,
              validation_data=validation, callbacks=[Callback()], verbose=0)


def _train_adversarial(arch, generator, train_part, val_part, settings, monitor) -> None:
    """Pix2pix: alternate discriminator and generator steps; Keras 3 API only (any backend).

    Keras traces each model's training step once with what is trainable at that moment, so the
    discriminator's step is traced while it is trainable and the combined step while it is frozen.
    """
    k = keras()
    s = train_part.tile_size
    l1 = float(arch.checked_params(settings.params).get("l1_weight", 100.0))
    disc = arch.create_discriminator(s, settings.params)
    disc.compile(optimizer=_optimizer(settings, 0.5), loss="binary_crossentropy")
    patch = disc.output_shape[1:]
    disc.trainable = False
    image = k.Input((s, s, 1))
    fake = generator(image)
    combined = k.Model(image, [disc([image, fake]), fake])
    combined.compile(optimizer=_optimizer(settings, 0.5), loss=["binary_crossentropy", "mae"], loss_weights=[1.0, l1])
    rng = np.random.default_rng(settings.seed)
    n, bs = len(train_part), min(settings.batch_size, len(train_part))
    real, unreal = np.ones((bs, *patch), np.float32), np.zeros((bs, *patch), np.float32)
    batches = int(np.ceil(n / bs))
    for _epoch in range(monitor.epochs):
        # Every batch full: a smaller last batch would make Keras retrace a step function.
        order = np.concatenate([rng.permutation(n), rng.choice(n, batches * bs - n)])
        losses = []
        for b in range(batches):
            idx = order[b * bs:(b + 1) * bs]
            x, y = train_part.x[idx], train_part.y[idx]
            disc.trainable = True  # explicit before each step, so any retrace sees the right state
            disc.train_on_batch([x, y], real)
            disc.train_on_batch([x, generator.predict_on_batch(x)], unreal)
            disc.trainable = False
            out = combined.train_on_batch(x, [real, y])
            # Report the L1 term (comparable with the other networks' losses), not the adversarial total.
            loss = float(out[2]) if isinstance(out, (list, tuple)) and len(out) > 2 else float(np.ravel(out)[0])
            losses.append(loss)
            if not monitor.batch_end(b, loss):
                return
        val_loss = None
        if val_part is not None:
            pred = generator.predict(val_part.x, batch_size=32, verbose=0)
            val_loss = float(np.mean(np.abs(pred - val_part.y)))
        monitor.epoch_end(float(np.mean(losses)), val_loss)
