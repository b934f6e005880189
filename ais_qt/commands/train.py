"""`ais-qt train`: train a network for one feature from a label volume, without the GUI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ais_qt.models.errors import AisError
from ais_qt.models.label_volumes import parse_slices
from ais_qt.models.progress import Progress
from ais_qt.models.training import LOSSES, TrainSettings
from ais_qt.models.training_set import NORMALISATIONS, TrainingSetOptions

EXAMPLE = ("example:\n  ais-qt train TS_01.mrc --labels TS_01_membrane.mrc --label-value 1 "
           "--slices 40,80,120 --epochs 20 --out membrane.aisnet")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a network from a label volume",
                              description="Train a network for one feature from an existing label volume; boxes "
                                          "are laid in a grid over the labelled slices.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tomogram", type=Path)
    p.add_argument("--labels", type=Path, required=True, help="label or mask volume of the same shape (.mrc)")
    p.add_argument("--label-value", type=int, required=True, help="voxels with this value are the feature")
    p.add_argument("--slices", help="slices to train on, e.g. 10,40,80-85 (default: up to 20 labelled slices)")
    p.add_argument("--box-size", type=int, default=64, help="box and tile size in pixels (default 64)")
    p.add_argument("--arch", default="unet", help="architecture key or title (default unet)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="architecture parameter, e.g. --param depth=3 (repeatable)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--validation-split", type=float, default=0.0)
    p.add_argument("--loss", choices=LOSSES, default="bce")
    p.add_argument("--copies", type=int, default=10, help="orientations per positive box (default 10)")
    p.add_argument("--negative-ratio", type=float, default=1.3, help="negative tiles per positive tile")
    p.add_argument("--normalisation", choices=NORMALISATIONS, default="tile")
    p.add_argument("--feature", help="feature name stored in the model (default 'Label V')")
    p.add_argument("--colour", help="feature colour, #rrggbb")
    p.add_argument("--plugins", type=Path, help="folder of architecture plugins")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="model file to write (.aisnet)")


def run(args) -> int:
    try:
        params = dict(_param(text) for text in args.param)
        slices = parse_slices(args.slices) if args.slices else None
        from ais_qt.models.architectures import ArchitectureLibrary

        arch = ArchitectureLibrary(args.plugins).find(args.arch)
    except AisError as e:
        print(f"ais-qt train: {e}", file=sys.stderr)
        return 2
    settings = TrainSettings(architecture=arch.key, params=params, epochs=args.epochs, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, validation_split=args.validation_split,
                             loss=args.loss, seed=args.seed)
    options = TrainingSetOptions("", copies=args.copies, negative_ratio=args.negative_ratio,
                                 normalisation=args.normalisation, seed=args.seed)
    printer = _Printer(args.epochs)
    from ais_qt.models.train_from_labels import train_from_labels

    try:
        path, network = train_from_labels(args.tomogram, args.labels, args.label_value, args.out, slices,
                                          args.box_size, args.feature, args.colour, options, settings,
                                          args.plugins, Progress(printer.progress, printer.event))
    except AisError as e:
        print(f"\nais-qt train: {e}", file=sys.stderr)
        return 1
    metrics = network.info.metrics
    if metrics:
        print(f"validation Dice {metrics['dice']:.3f}, IoU {metrics['iou']:.3f} on {metrics['validation_tiles']} tiles")
    print(f"saved {path}")
    return 0


def _param(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise AisError(None, f"--param needs NAME=VALUE, not '{text}'")
    name, value = text.split("=", 1)
    return name.strip(), value.strip()


class _Printer:
    """A progress line that rewrites itself on a terminal, and one line per epoch."""

    def __init__(self, epochs: int):
        self.tty = sys.stdout.isatty()
        self.epochs = epochs

    def progress(self, fraction: float, message: str) -> None:
        if self.tty:
            print(f"\r{fraction * 100:5.1f}%  {message}\033[K", end="", flush=True)

    def event(self, payload: dict) -> None:
        if "training_set" in payload:
            print(f"{payload['training_set']} (slices {', '.join(map(str, payload['slices']))})")
        elif "epoch_end" in payload:
            val = f", validation loss {payload['val_loss']:.4f}" if payload.get("val_loss") is not None else ""
            start, clear = ("\r", "\033[K") if self.tty else ("", "")
            print(f"{start}epoch {payload['epoch_end']}/{self.epochs}: loss {payload['loss']:.4f}{val}{clear}",
                  flush=True)
