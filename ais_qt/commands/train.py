"""`ais-qt train`: train a network for one feature from a label volume, without the GUI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ais_qt.models.errors import AisError
from ais_qt.models.volumes.label_volumes import parse_numbers, parse_slices
from ais_qt.models.progress import Progress
from ais_qt.models.learning.precision import PRECISIONS
from ais_qt.models.learning.training import LOSSES, TrainSettings
from ais_qt.models.learning.training_set import NORMALISATIONS, TrainingSetOptions

EXAMPLE = ("example:\n  ais-qt train TS_01.mrc --labels TS_01_membrane.mrc --label-value 1 "
           "--slices 40,80,120 --epochs 20 --out membrane.aisnet")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a network from a label volume",
                              description="Train a network for one feature from an existing label volume; boxes "
                                          "are laid in a grid over the labelled slices.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tomogram", type=Path)
    p.add_argument("--labels", type=Path, required=True, help="label or mask volume of the same shape (.mrc)")
    p.add_argument("--label-value", required=True,
                   help="voxels with this value are the feature; several together as 4,5,6,7 or 4-7")
    p.add_argument("--slices", help="slices to train on, e.g. 10,40,80-85 (default: up to 20 labelled slices)")
    p.add_argument("--box-size", type=int, default=64, help="box and tile size in pixels (default 64)")
    p.add_argument("--arch", default="unet", help="architecture key or title (default unet)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="architecture parameter, e.g. --param depth=3 (repeatable)")
    # Defaults come from the settings objects, so the command line and the GUI train alike.
    settings, options = TrainSettings(), TrainingSetOptions("")
    p.add_argument("--epochs", type=int, default=settings.epochs,
                   help=f"(default: automatic, as many as make about {settings.auto_steps} batches)")
    p.add_argument("--batch-size", type=int, default=settings.batch_size, help=f"(default {settings.batch_size})")
    p.add_argument("--learning-rate", type=float, default=settings.learning_rate,
                   help=f"(default {settings.learning_rate:g})")
    p.add_argument("--validation-split", type=float, default=settings.validation_split,
                   help=f"fraction of boxes held back to validate and calibrate (default {settings.validation_split:g})")
    p.add_argument("--loss", choices=LOSSES, default=settings.loss, help=f"(default {settings.loss})")
    p.add_argument("--precision", choices=PRECISIONS, default=settings.precision,
                   help="auto: bfloat16 arithmetic on CPUs with bfloat16 instructions (1.6x less CPU per "
                        f"tile), float32 elsewhere (default {settings.precision})")
    p.add_argument("--copies", type=int, default=options.copies,
                   help=f"orientations per positive box (default {options.copies})")
    p.add_argument("--negative-ratio", type=float, default=options.negative_ratio,
                   help=f"negative tiles per positive tile (default {options.negative_ratio:g})")
    p.add_argument("--normalisation", choices=NORMALISATIONS, default=options.normalisation)
    p.add_argument("--augment-intensity", action="store_true", default=options.intensity_augmentation,
                   help="also vary contrast, offset, blur and noise in each copy")
    p.add_argument("--no-calibration", action="store_true",
                   help="keep the raw output (by default 0.5 is made the best threshold on held-back tiles)")
    p.add_argument("--feature", help="feature name stored in the model (default 'Label V')")
    p.add_argument("--colour", help="feature colour, #rrggbb")
    p.add_argument("--plugins", type=Path, help="folder of architecture plugins")
    p.add_argument("--seed", type=int, default=settings.seed)
    p.add_argument("--out", type=Path, required=True, help="model file to write (.aisnet)")


def run(args) -> int:
    try:
        params = dict(_param(text) for text in args.param)
        slices = parse_slices(args.slices) if args.slices else None
        values = parse_numbers(args.label_value, "label value")
        from ais_qt.models.learning.architectures import ArchitectureLibrary

        arch = ArchitectureLibrary(args.plugins).find(args.arch)
    except AisError as e:
        print(f"ais-qt train: {e}", file=sys.stderr)
        return 2
    settings = TrainSettings(architecture=arch.key, params=params, epochs=args.epochs, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, validation_split=args.validation_split,
                             loss=args.loss, calibrate=not args.no_calibration, seed=args.seed,
                             precision=args.precision)
    options = TrainingSetOptions("", copies=args.copies, negative_ratio=args.negative_ratio,
                                 normalisation=args.normalisation, intensity_augmentation=args.augment_intensity,
                                 seed=args.seed)
    printer = _Printer(args.epochs)
    from ais_qt.models.learning.train_from_labels import train_from_labels

    try:
        path, network = train_from_labels(args.tomogram, args.labels, values, args.out, slices,
                                          args.box_size, args.feature, args.colour, options, settings,
                                          args.plugins, Progress(printer.progress, printer.event))
    except AisError as e:
        print(f"\nais-qt train: {e}", file=sys.stderr)
        return 1
    from ais_qt.models.learning.training import result_text

    summary = result_text(network.info)
    if summary:
        print(summary, file=sys.stderr if network.info.metrics.get("warning") else sys.stdout)
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
        if "device" in payload:
            print(f"training on {payload['device']}", flush=True)
        elif "training_set" in payload:
            print(f"{payload['training_set']} (slices {', '.join(map(str, payload['slices']))})")
        elif "epoch_end" in payload:
            val = f", validation loss {payload['val_loss']:.4f}" if payload.get("val_loss") is not None else ""
            start, clear = ("\r", "\033[K") if self.tty else ("", "")
            epochs = payload.get("epochs", self.epochs)  # small training sets train for more epochs
            print(f"{start}epoch {payload['epoch_end']}/{epochs}: loss {payload['loss']:.4f}{val}{clear}", flush=True)
