"""`inspector dataset import|from-logs|merge|split|info`: datasets from what a plant has, in the one
file format training reads (`inspector.dataset.store`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inspector.classes import DEFAULT_OK_CLASS
from inspector.cli.options import add_command, add_family, add_overwrite, add_quiet, seed
from inspector.errors import DatasetError

MAX_SKIPPED_LINES = 20


def _bar(args):
    from tqdm import tqdm

    return lambda it, **kw: tqdm(it, leave=False, disable=args.quiet, **kw)


def _write(args, out: Path, pairs) -> None:
    from tqdm import tqdm

    from inspector.dataset.store import write_dataset_file

    with tqdm(total=len(pairs), desc="writing", unit="pair", leave=False, disable=args.quiet) as bar:
        write_dataset_file(out, pairs, overwrite=args.overwrite, progress=lambda n: bar.update(n - bar.n))


def _report_skipped(skipped: list[tuple[str, str]]) -> None:
    """Each pair that could not be used, named on stderr (the first ones: a folder of a thousand bad
    files needs its first lines read, not all of them)."""
    for what, why in skipped[:MAX_SKIPPED_LINES]:
        print(f"skipped: {what}: {why}", file=sys.stderr)
    if len(skipped) > MAX_SKIPPED_LINES:
        print(f"skipped: and {len(skipped) - MAX_SKIPPED_LINES} more", file=sys.stderr)


def _summary(out: Path, gathered) -> None:
    from inspector.dataset.build import size_text
    from inspector.dataset.summary import class_counts_text

    p = gathered.pairs
    size = f" of {size_text(p.view1.shape[1:])} views" if len(p) else ""
    print(f"wrote {out}: {len(p)} pairs{size}")
    print(f"  per class: {class_counts_text(p.labels, p.classes, p.ok_class)}")
    rest = [f"skipped {len(gathered.skipped)}", f"duplicates {gathered.duplicates} (kept once)"]
    rest += [f"{k} {v}" for k, v in gathered.left_out.items()]
    print("  " + ", ".join(rest))


def cmd_import(args: argparse.Namespace) -> int:
    from inspector.dataset.folders import import_folders
    from inspector.files import check_output_file

    out = Path(args.out)
    check_output_file(out, overwrite=args.overwrite, error=DatasetError)
    rig = None
    if args.rig:
        from calibration import Rig

        rig = Rig.load(args.rig)
    gathered = import_folders(args.dir, cam1=args.cam1, cam2=args.cam2, rig=rig, ok_class=args.ok_class,
                              progress=_bar(args))
    _write(args, out, gathered.pairs)
    _report_skipped(gathered.skipped)
    _summary(out, gathered)
    return 0


def cmd_from_logs(args: argparse.Namespace) -> int:
    from inspector.dataset.logs import from_logs
    from inspector.files import check_output_file

    out = Path(args.out)
    check_output_file(out, overwrite=args.overwrite, error=DatasetError)
    gathered = from_logs(args.logs, progress=_bar(args))
    if not len(gathered.pairs):
        why = ", ".join(f"{k} {v}" for k, v in gathered.left_out.items())
        raise DatasetError(f"{', '.join(map(str, args.logs))}: no labelled record with its views to make a pair "
                           f"of ({why}, views not kept {len(gathered.skipped)}); label records in `inspector review`")
    _write(args, out, gathered.pairs)
    _report_skipped(gathered.skipped)
    _summary(out, gathered)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from inspector.dataset.build import Gathered
    from inspector.dataset.combine import merge
    from inspector.files import check_output_file

    out = Path(args.out)
    check_output_file(out, overwrite=args.overwrite, error=DatasetError)
    if any(Path(p).resolve() == out.resolve() for p in args.inputs):
        raise DatasetError(f"{out}: is also an input; write the merge to another file")
    merged = merge(args.inputs, progress=_bar(args))
    _write(args, out, merged.pairs)
    print(f"merged {len(args.inputs)} files, {merged.inputs} pairs")
    _summary(out, Gathered(merged.pairs, [], {}, merged.duplicates))
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from inspector.dataset.combine import split_indices, write_split
    from inspector.dataset.store import load_dataset
    from inspector.dataset.summary import class_counts_text
    from inspector.files import check_output_file

    train, test = Path(args.train), Path(args.test)
    for out in (train, test):
        check_output_file(out, overwrite=args.overwrite, error=DatasetError)
        if out.resolve() == Path(args.data).resolve():
            raise DatasetError(f"{out}: is the dataset being split; write the split to other files")
    if train.resolve() == test.resolve():
        raise DatasetError(f"{train}: named for both --train and --test")
    data = load_dataset(args.data)
    split = split_indices(data, args.test_share, args.seed, args.by)
    step = {"test_share": args.test_share, "seed": args.seed, "by": args.by or ""}
    from tqdm import tqdm

    with tqdm(total=len(data.labels), desc="writing", unit="pair", leave=False, disable=args.quiet) as bar:
        write_split(data, split, (train, test), overwrite=args.overwrite, step=step,
                    progress=lambda n: bar.update(n - bar.n))
    for warning in split.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    by = f", whole groups by {args.by}" if args.by else ""
    print(f"split {args.data}: {len(data.labels)} pairs, test share {args.test_share:g}, seed {args.seed}{by}")
    for out, idx in ((train, split.train), (test, split.test)):
        groups = f", {len(set(data.values(args.by)[idx].tolist()))} groups" if args.by else ""
        print(f"wrote {out}: {len(idx)} pairs{groups}")
        print(f"  per class: {class_counts_text(data.labels[idx], data.classes, data.ok_class)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from inspector.dataset.store import load_dataset
    from inspector.dataset.summary import describe, info_text

    d = describe(load_dataset(args.data))
    print(json.dumps(d, indent=2) if args.json else info_text(d))
    return 0


def add_dataset(sub) -> None:
    dsub = add_family(
        sub, "dataset", help="make datasets from class folders or labelled logs; merge, split, describe them",
        description="Datasets from what a plant has, in the one file format `inspector train` reads: "
        "`import` class folders of image pairs, `from-logs` the records an engineer labelled in the "
        "review view, `merge` several files, `split` one into training and test files (by class, "
        "optionally keeping whole days or sources on one side), `info` what a file holds and how it "
        "was made. Every pair keeps where it came from (its files or log record) and a sha256 of its "
        "pixels, so duplicates are kept once and every pair can be traced back.",
    )

    p = add_command(
        dsub, "import", help="a dataset from class folders of image pairs",
        description="One sub-folder of DIR per class (DIR/<class>/<key>_cam1.png + <key>_cam2.png); the "
        "class names are the folder names in sorted order. Files pair by the folder source's rules: "
        "one '*' per pattern, the key it stands for, the more specific pattern wins. Without --rig the "
        "images are views as the model takes them; with --rig raw camera images, mapped onto the cavity "
        "plane. Pairs with a missing partner, unreadable files or the wrong size are named on stderr and "
        "skipped; identical pairs are kept once. A class folder without usable pairs, or images of no "
        "prevailing size, refuse the import.",
    )
    p.add_argument("dir", type=Path, help="the folder holding one folder per class")
    p.add_argument("--out", required=True, type=Path, help="dataset file to write (.h5)")
    p.add_argument("--cam1", default="*_cam1.png", help="camera 1 file pattern; the '*' is the pair's key")
    p.add_argument("--cam2", default="*_cam2.png", help="camera 2 file pattern; the '*' is the pair's key")
    p.add_argument("--rig", help="rig file: the images are raw camera images to map through it")
    p.add_argument("--ok-class", default=DEFAULT_OK_CLASS, help="the class folder whose parts are OK")
    add_overwrite(p, "replace an existing output file")
    add_quiet(p)
    p.set_defaults(func=cmd_import)

    p = add_command(
        dsub, "from-logs", help="a dataset from the records engineers labelled in inspection logs",
        description="A record becomes a pair when its newest label is OK (the log's OK class) or NOK "
        "with a true class; NOK without a class goes to the log's NOK class when it has only one, and "
        "is left out otherwise. Unsure and unlabelled records are left out and counted; records whose "
        "views the log did not keep are named and skipped. The logs must share classes, OK class and "
        "view size.",
    )
    p.add_argument("logs", nargs="+", type=Path, metavar="LOG", help="inspection log(s) (.h5)")
    p.add_argument("--out", required=True, type=Path, help="dataset file to write (.h5)")
    add_overwrite(p, "replace an existing output file")
    add_quiet(p)
    p.set_defaults(func=cmd_from_logs)

    p = add_command(
        dsub, "merge", help="merge dataset files, each identical pair kept once",
        description="The pairs of every file in order; the files must share classes, OK class and view "
        "size. Pairs identical pixel for pixel are kept once; each pair keeps its provenance and the "
        "history of its file.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="DATA", help="dataset files (.h5)")
    p.add_argument("--out", required=True, type=Path, help="dataset file to write (.h5)")
    add_overwrite(p, "replace an existing output file")
    add_quiet(p)
    p.set_defaults(func=cmd_merge)

    p = add_command(
        dsub, "split", help="split a dataset into training and test files, by class (and by group)",
        description="Stratified per class and seeded: the same seed gives the same split. With --by "
        "FIELD (source, day, origin, … any per-pair field the file has) all pairs sharing the field's "
        "value go to the same side, so near-duplicate shots of one hour or one mold never land on both.",
    )
    p.add_argument("data", type=Path, help="the dataset file to split")
    p.add_argument("--train", required=True, type=Path, help="training file to write")
    p.add_argument("--test", required=True, type=Path, help="test file to write")
    p.add_argument("--test-share", type=float, default=0.2, help="share of each class for the test file")
    p.add_argument("--seed", type=seed, default=0, help="seed of the split")
    p.add_argument("--by", help="a per-pair field whose groups stay whole (source, day, …)")
    add_overwrite(p, "replace existing output files")
    add_quiet(p)
    p.set_defaults(func=cmd_split)

    p = add_command(
        dsub, "info", help="what a dataset holds and how it was made",
        description="Classes and OK class, pairs per class and per source, view size, duplicates, when "
        "and by what the file was made, and the steps of its history.",
    )
    p.add_argument("data", type=Path, help="the dataset file")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=cmd_info)


COMMANDS = {"dataset": add_dataset}
