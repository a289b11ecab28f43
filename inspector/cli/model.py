"""`inspector train` and `inspector evaluate`: a model from a dataset, and how well it does on one."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from inspector.cli.options import (
    add_command,
    add_device,
    add_family,
    add_model,
    add_overwrite,
    add_quiet,
    count,
    positive_float,
    positive_int,
    refuse_to_replace,
    seed,
)
from inspector.errors import InspectorError


def model_path(text):
    """A model argument as `load_model` takes it: the word `default` is the shipped model."""
    return None if text is None or text == "default" else text


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inspector.model.card import sanity_text
    from inspector.model.checkpoint import load_model
    from inspector.model.finetune import FINETUNE_LR, check_init, parent_of
    from inspector.model.mvfn import ArchConfig
    from inspector.dataset.store import load_dataset
    from inspector.model.train import TrainConfig, check_occlusion, check_split, save_trained, train

    out = Path(args.out)
    refuse_to_replace(out, args.overwrite)
    if args.new_head and args.init is None:
        raise InspectorError("--new-head: only with --init (a model trained from scratch has only new layers)")
    init = load_model(model_path(args.init), "cpu") if args.init is not None else None
    data = load_dataset(args.data)
    check_split(data, args.val_split)  # before the "training" line: nothing is trained
    if init is not None:
        check_init(init, data, args.new_head, arch=args.arch)
        lr = args.lr if args.lr is not None else FINETUNE_LR
    else:
        lr = args.lr if args.lr is not None else 3e-3
    arch_name = args.arch or "mvfn"
    arch = ArchConfig(arch=arch_name, view=args.view - 1, shared_branches=args.shared_branches)
    # The recipe is about which camera a fused decision rests on; a single view has no other camera.
    model_arch = init.config.arch if init is not None else arch_name
    occlusion = args.occlusion or ("evidence" if model_arch == "mvfn" else "none")
    config = TrainConfig(
        epochs=args.epochs, batch=args.batch, seed=args.seed, device=args.device, val_split=args.val_split,
        lr=lr, patience=args.patience, occlusion=occlusion, occlusion_share=args.occlusion_share,
        occlusion_every=args.occlusion_every,
    )
    check_occlusion(config)
    if init is None:
        print(f"training {arch_name}{' (camera %d only)' % args.view if arch_name == 'single-view' else ''} on "
              f"{len(data.labels)} pairs of {data.path} (classes: {', '.join(data.classes)})")
    else:
        head = "a new final layer, " if args.new_head else ""
        print(f"fine-tuning {args.init} (sha256 {init.sha256[:12]}, {init.config.arch}) with {head}peak lr {lr:g} "
              f"on {len(data.labels)} pairs of {data.path} (classes: {', '.join(data.classes)})")

    def on_epoch(row: dict) -> None:
        tqdm.write(
            f"epoch {row['epoch']:>2}: train loss {row['train_loss']:.4f} acc {100 * row['train_acc']:.2f}% | "
            f"val loss {row['val_loss']:.4f} acc {100 * row['val_acc']:.2f}%"
        )

    result = train(data, arch, config, on_epoch=on_epoch, init=init, new_head=args.new_head,
                   progress=lambda it, **kw: tqdm(it, leave=False, disable=args.quiet, **kw))
    parent = parent_of(init, model_path(args.init)) if init is not None else None
    sanity = training_sanity(result.model, data, config)
    sha = save_trained(result, data, config, out, parent=parent, new_head=args.new_head, sanity=sanity)
    stop = f"stopped early, best epoch {result.best_epoch}" if result.stopped_early else f"best epoch {result.best_epoch}"
    print(f"trained in {result.seconds:.0f} s ({stop})")
    print("validation split: " + result.report.format())
    print(f"sanity check (model card): {sanity_text(sanity)}")
    print(f"wrote {out} (sha256 {sha})")
    return 0


def training_sanity(model, data, config) -> dict:
    """The model card's sanity check on a few validation pairs: its own data, so any classes will do."""
    import numpy as np

    from inspector.evaluation.sanity import card_sanity
    from inspector.model.train import stratified_split

    # The split `train` made: the first draw of a generator seeded with the run's seed.
    val = stratified_split(data.labels, config.val_split, np.random.default_rng(config.seed))[1]
    return card_sanity(model, data.view1, data.view2, data.labels, val, seed=config.seed)


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from inspector.model.checkpoint import load_model
    from inspector.model.evaluate import accuracy_report, predict
    from inspector.dataset.store import load_dataset

    if args.compare is not None:
        return compare_models_command(args)
    if args.sheet:
        raise InspectorError("--sheet: only with --compare (a sheet of the pairs two models disagree on)")
    if args.json:  # refused before the work, not after it
        from inspector.files import check_output_file

        check_output_file(Path(args.json), overwrite=args.overwrite)
    model = load_model(model_path(args.model), args.device)
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


def sheet_path(args: argparse.Namespace) -> Path:
    """Where the disagreement sheet goes: --sheet, else beside --json, else disagreements.png here."""
    if args.sheet:
        return Path(args.sheet)
    if args.json:
        return Path(args.json).with_suffix(".disagreements.png")
    return Path("disagreements.png")


def compare_models_command(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from inspector.evaluation.figure import figure_format
    from inspector.evaluation.model_compare import check_fits, compare_models
    from inspector.files import check_output_file, write_then_rename
    from inspector.model.checkpoint import load_model
    from inspector.dataset.store import load_dataset

    sheet = sheet_path(args)
    outputs = [Path(args.json)] if args.json else []
    for out in outputs + [sheet]:  # refused before the work, not after it
        check_output_file(out, overwrite=args.overwrite)
    figure_format(sheet)
    if args.json and Path(args.json).resolve() == sheet.resolve():
        raise InspectorError(f"{sheet}: --sheet and --json name the same file")
    named = [(args.model or "default", load_model(model_path(args.model), args.device)),
             (args.compare, load_model(model_path(args.compare), args.device))]
    data = load_dataset(args.data)
    check_fits(named, data)
    print(f"comparing on {args.data}: A {named[0][0]} and B {named[1][0]}")
    result = compare_models(named, data, explain_max=args.explain_max, batch=args.batch, device=args.device,
                            progress=lambda it, **kw: tqdm(it, leave=False, disable=args.quiet, **kw))
    print(result.format())
    if len(result.disagreements):
        from inspector.evaluation.disagreement_sheet import save_disagreement_sheet

        save_disagreement_sheet(sheet, result, data.view1, data.view2)
        print(f"wrote {sheet} (the pairs on which they disagree)")
    else:
        print("the models agree on every pair; no sheet written")
    if args.json:
        text = json.dumps({"data_sha256": data.sha256, **result.to_dict(),
                           "sheet": str(sheet) if len(result.disagreements) else None}, indent=2)
        write_then_rename(Path(args.json), lambda tmp: tmp.write_text(text))
        print(f"wrote {args.json}")
    return 0


def add_train(sub) -> None:
    p = add_command(
        sub, "train", help="train a model (the MVFN, or a single-view baseline) on a dataset",
        description="Train on an HDF5 dataset with view1, view2, label (as `inspector simulate` writes): "
        "a stratified validation split, physically consistent augmentation (a shift and mirrors "
        "applied to both views alike, gain and noise to each view on its own), by default the occlusion "
        "recipe (the MVFN also sees views occluded by the explainer's own masks, with a target that says "
        "what is still visible, so that occlusion means absence; --occlusion), class-weighted loss, "
        "a progress bar with loss and accuracy, early stopping on validation loss, and at the end "
        "per-class accuracy and a confusion matrix on the validation split. Deterministic for a "
        "seed on the CPU. The checkpoint holds the weights, architecture, classes, input size, "
        "normalisation, the data's sha256, the seed, the software version and the metrics, and a "
        "model card (`inspector model info`), which includes a sanity check of the model's Grad-CAM maps "
        "on a few validation pairs (Adebayo et al.'s cascading randomisation; a few seconds). With --init it fine-tunes a checkpoint instead of "
        "starting from random weights (a lower peak learning rate unless --lr is given).",
    )
    p.add_argument("--data", required=True, help="training dataset (HDF5)")
    p.add_argument("--out", required=True, help="checkpoint to write (refused if it exists, unless --overwrite)")
    p.add_argument("--val-split", type=float, default=0.15, help="share of each class held out for validation")
    p.add_argument("--epochs", type=positive_int, default=14, help="most epochs to train")
    p.add_argument("--batch", type=positive_int, default=64, help="batch size")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="peak learning rate (one-cycle schedule); default 3e-3, or 1e-3 with --init")
    p.add_argument("--patience", type=positive_int, default=4,
                   help="stop after this many epochs without a better validation loss")
    p.add_argument("--seed", type=seed, default=0, help="seed of the split, initialisation and augmentation")
    add_device(p, "where to train")
    p.add_argument("--arch", default=None, choices=["mvfn", "single-view"],
                   help="architecture (default mvfn; with --init the checkpoint's, which this must match)")
    p.add_argument("--init", metavar="default|PATH",
                   help="fine-tune: start from this checkpoint (`default`: the shipped model) instead of random "
                   "weights; its architecture, input size and normalisation are kept, and its classes must be "
                   "the data's (names and order) unless --new-head")
    p.add_argument("--new-head", action="store_true",
                   help="with --init: keep every weight but the final layer, which starts anew for the data's "
                   "classes (seeded)")
    p.add_argument("--occlusion", default=None, choices=["evidence", "kept", "none"],
                   help="occlusion recipe (README 'Training for faithful influence'): `evidence` (the MVFN's "
                   "default; `none` for the single-view baseline) occludes "
                   "one view of a share of the pairs with the explainer's own mask (stage-4 Grad-CAM, top p of the "
                   "region above max/4, pixels set to 0) and softens the target toward uniform by p where that view "
                   "was the only one showing the evidence (the data's `evidence` field, else estimated from the "
                   "model); `kept` the same masks with the label kept; `none` no occlusion")
    p.add_argument("--occlusion-share", type=float, default=0.5, help="share of the pairs with one view occluded")
    p.add_argument("--occlusion-every", type=positive_int, default=2,
                   help="epochs between recomputing the masks' Grad-CAM maps with the model being trained")
    p.add_argument("--view", type=int, default=1, choices=[1, 2], help="camera of the single-view baseline")
    p.add_argument("--shared-branches", action="store_true", help="one outer branch for both views (MVFN)")
    add_overwrite(p, "replace an existing checkpoint")
    add_quiet(p)
    p.set_defaults(func=cmd_train)


def add_evaluate(sub) -> None:
    p = add_command(
        sub, "evaluate", help="accuracy of a model on a labelled dataset, per class and per evidence group",
        description="Predict every pair of a labelled dataset and print the accuracy overall, per class, "
        "per evidence group (which camera shows what decides the class) and the confusion matrix. "
        "With --compare MODEL: two models side by side before switching (accuracy, per class, both "
        "confusion matrices, and where the data has evidence the share of one-camera pairs whose "
        "influence names that camera), and the pairs they classify differently as a figure sheet.",
    )
    p.add_argument("--data", required=True, help="labelled dataset (HDF5)")
    add_model(p)
    add_device(p, "where to run")
    p.add_argument("--batch", type=positive_int, default=128, help="batch size")
    p.add_argument("--json", help="also write the report as JSON to this file (refused if it exists, unless "
                   "--overwrite)")
    p.add_argument("--compare", metavar="default|PATH",
                   help="a second model to compare with --model on the same data (`default`: the shipped "
                   "model): both side by side, influence agreement where the data has evidence, and a "
                   "figure sheet of the pairs on which they disagree")
    p.add_argument("--explain-max", type=count, default=300,
                   help="with --compare: explain at most this many pairs that only one camera can see "
                   "(drawn with a fixed seed) for the influence agreement; 0 skips it")
    p.add_argument("--sheet", help="with --compare: the disagreement sheet to write (default: beside --json "
                   "as NAME.disagreements.png, else disagreements.png here; refused if it exists, unless "
                   "--overwrite)")
    add_quiet(p)
    add_overwrite(p, "replace existing --json and --sheet files")
    p.set_defaults(func=cmd_evaluate)


def cmd_model_info(args: argparse.Namespace) -> int:
    import json

    from inspector.model.card import format_card, model_card
    from inspector.model.checkpoint import load_model

    model = load_model(model_path(args.path), "cpu")
    card = model_card(model)
    if args.json:
        print(json.dumps(card, indent=2))
    else:
        print(format_card(card, f"model card of {args.path}"))
    return 0


def add_model_group(sub) -> None:
    model_sub = add_family(
        sub, "model", help="about model checkpoints (their model cards)",
        description="About model checkpoints. `inspector model info PATH|default` prints a checkpoint's "
        "model card.",
    )
    p = add_command(
        model_sub, "info", help="print a checkpoint's model card",
        description="Print the model card of a checkpoint: the software and time that made it, the "
        "training data (file, sha256, pairs per class), classes and OK class, architecture and input "
        "size, the metrics on its validation split (accuracy, per class, confusion), seed and training "
        "settings, the parent checkpoint it was fine-tuned from, and the sanity check of its explanations "
        "(`inspector study --sanity`). Checkpoints made before model cards say 'not recorded' for what "
        "they lack.",
    )
    p.add_argument("path", metavar="PATH|default", help="the checkpoint (`default`: the shipped model)")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(func=cmd_model_info)


COMMANDS = {"train": add_train, "evaluate": add_evaluate, "model": add_model_group}
