"""`inspector train` and `inspector evaluate`: a model from a dataset, and how well it does on one."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from inspector.cli.options import (
    add_command,
    add_device,
    add_model,
    add_overwrite,
    add_quiet,
    positive_float,
    positive_int,
    refuse_to_replace,
    seed,
)
from inspector.errors import InspectorError


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inspector.model.mvfn import ArchConfig
    from inspector.dataset.store import load_dataset
    from inspector.model.train import TrainConfig, check_split, save_trained, train

    out = Path(args.out)
    refuse_to_replace(out, args.overwrite)
    data = load_dataset(args.data)
    check_split(data, args.val_split)  # before the "training" line: nothing is trained
    arch = ArchConfig(arch=args.arch, view=args.view - 1, shared_branches=args.shared_branches)
    config = TrainConfig(
        epochs=args.epochs, batch=args.batch, seed=args.seed, device=args.device, val_split=args.val_split,
        lr=args.lr, patience=args.patience,
    )
    print(f"training {args.arch}{' (camera %d only)' % args.view if args.arch == 'single-view' else ''} on "
          f"{len(data.labels)} pairs of {data.path} (classes: {', '.join(data.classes)})")

    def on_epoch(row: dict) -> None:
        tqdm.write(
            f"epoch {row['epoch']:>2}: train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:.2f}% | "
            f"val loss {row['val_loss']:.4f} acc {100 * row['val_acc']:.2f}%"
        )

    result = train(data, arch, config, on_epoch=on_epoch,
                   progress=lambda it, **kw: tqdm(it, leave=False, disable=args.quiet, **kw))
    sha = save_trained(result, data, config, out)
    stop = f"stopped early, best epoch {result.best_epoch}" if result.stopped_early else f"best epoch {result.best_epoch}"
    print(f"trained in {result.seconds:.0f} s ({stop})")
    print("validation split: " + result.report.format())
    print(f"wrote {out} (sha256 {sha})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from inspector.model.checkpoint import load_model
    from inspector.model.evaluate import accuracy_report, predict
    from inspector.dataset.store import load_dataset

    if args.json:  # refused before the work, not after it
        from inspector.files import check_output_file

        check_output_file(Path(args.json), overwrite=args.overwrite)
    model = load_model(args.model, args.device)
    data = load_dataset(args.data)
    if tuple(data.classes) != tuple(model.classes):
        raise InspectorError(f"{args.data}: classes {data.classes} differ from the model's {model.classes}")
    h, w = data.view1.shape[1:3]
    if (h, w) != tuple(model.config.input_size):
        raise InspectorError(f"{args.data}: views are {w}×{h} but the model takes "
                             f"{model.config.input_size[1]}×{model.config.input_size[0]}")
    t0 = time.perf_counter()
    probs = predict(model, data.view1, data.view2, batch=args.batch)
    dt = time.perf_counter() - t0
    report = accuracy_report(data.labels, probs.argmax(1), data.classes, data.evidence)
    print(f"model {args.model or 'default'} (sha256 {model.sha256[:12]}, {model.config.arch}) on {args.data}")
    print(report.format())
    print(f"{len(data.labels) / dt:.0f} pairs/s")
    if args.json:
        from inspector.files import write_then_rename

        text = json.dumps({"model_sha256": model.sha256, "data_sha256": data.sha256, **report.to_dict()}, indent=2)
        write_then_rename(Path(args.json), lambda tmp: tmp.write_text(text))
    return 0


def add_train(sub) -> None:
    p = add_command(
        sub, "train", help="train a model (the MVFN, or a single-view baseline) on a dataset",
        description="Train on an HDF5 dataset with view1, view2, label (as `inspector simulate` writes): "
        "a stratified validation split, physically consistent augmentation (a shift and mirrors "
        "applied to both views alike, gain and noise to each view on its own), class-weighted loss, "
        "a progress bar with loss and accuracy, early stopping on validation loss, and at the end "
        "per-class accuracy and a confusion matrix on the validation split. Deterministic for a "
        "seed on the CPU. The checkpoint holds the weights, architecture, classes, input size, "
        "normalisation, the data's sha256, the seed, the software version and the metrics.",
    )
    p.add_argument("--data", required=True, help="training dataset (HDF5)")
    p.add_argument("--out", required=True, help="checkpoint to write (refused if it exists, unless --overwrite)")
    p.add_argument("--val-split", type=float, default=0.15, help="share of each class held out for validation")
    p.add_argument("--epochs", type=positive_int, default=14, help="most epochs to train")
    p.add_argument("--batch", type=positive_int, default=64, help="batch size")
    p.add_argument("--lr", type=positive_float, default=3e-3, help="peak learning rate (one-cycle schedule)")
    p.add_argument("--patience", type=positive_int, default=4,
                   help="stop after this many epochs without a better validation loss")
    p.add_argument("--seed", type=seed, default=0, help="seed of the split, initialisation and augmentation")
    add_device(p, "where to train")
    p.add_argument("--arch", default="mvfn", choices=["mvfn", "single-view"], help="architecture")
    p.add_argument("--view", type=int, default=1, choices=[1, 2], help="camera of the single-view baseline")
    p.add_argument("--shared-branches", action="store_true", help="one outer branch for both views (MVFN)")
    add_overwrite(p, "replace an existing checkpoint")
    add_quiet(p)
    p.set_defaults(func=cmd_train)


def add_evaluate(sub) -> None:
    p = add_command(
        sub, "evaluate", help="accuracy of a model on a labelled dataset, per class and per evidence group",
        description="Predict every pair of a labelled dataset and print the accuracy overall, per class, "
        "per evidence group (which camera shows what decides the class) and the confusion matrix.",
    )
    p.add_argument("--data", required=True, help="labelled dataset (HDF5)")
    add_model(p)
    add_device(p, "where to run")
    p.add_argument("--batch", type=positive_int, default=128, help="batch size")
    p.add_argument("--json", help="also write the report as JSON to this file (refused if it exists, unless "
                   "--overwrite)")
    add_overwrite(p, "replace an existing --json file")
    p.set_defaults(func=cmd_evaluate)


COMMANDS = {"train": add_train, "evaluate": add_evaluate}
