"""The `inspector` command line.

Every subcommand reports bad input as one line naming the input and the
problem, with exit status 2. Anything else that goes wrong is a bug: one line
saying so and exit status 1, with its traceback only under `inspector --debug`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from inspector import __version__
from inspector.errors import InspectorError

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process Ctrl-C ended
EXIT_TERMINATED = 143  # 128 + SIGTERM


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a refused command line is one line like every other bad input (argparse's own
    usage block buried the reason under the synopsis); `--help` still shows the usage."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (`{self.prog} --help` says more)\n")


def _grid_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 128x128, got {text!r}") from None
    return w, h


def _number(text: str, convert, ok, expected: str):
    """`text` converted, or argparse's one-line refusal saying what was expected."""
    try:
        v = convert(text)
    except ValueError:
        v = None
    if v is None or not ok(v):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return v


def _share(text: str) -> float:
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")


def _positive_int(text: str) -> int:
    return _number(text, int, lambda v: v > 0, "a positive integer")


def _seed(text: str) -> int:
    # numpy's generators take no negative seed; refused here rather than deep in a run
    return _number(text, int, lambda v: v >= 0, "a seed, an integer ≥ 0")


def _positive_float(text: str) -> float:
    import math

    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a positive number")


def _refuse_to_replace(out: Path, overwrite: bool) -> None:
    """An output that records refer to by sha256 (rig, model) is only replaced when asked."""
    from inspector.files import check_output_file

    if out.is_file() and not overwrite:
        raise InspectorError(f"{out}: already exists; records name it by its sha256, so pass --overwrite "
                             "only if nothing refers to the old one")
    check_output_file(out, overwrite=True)  # a folder, or a folder that does not exist


# -- demo -------------------------------------------------------------------------------------
def has_display() -> bool:
    """Whether a window can be shown: a desktop on Windows and macOS; X11 or Wayland on Linux, unless Qt
    is told to draw offscreen."""
    import os

    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def qt_cannot_start() -> str:
    """Why Qt cannot open a window here, or "" if it can. Qt aborts the whole process when its platform
    plugin does not load (a missing libxcb-cursor0 is enough), so it is tried in a child process."""
    import subprocess

    probe = "from PySide6.QtGui import QGuiApplication; QGuiApplication([])"
    try:
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "Qt did not start within 60 s"
    if r.returncode == 0:
        return ""
    lines = [l.strip() for l in r.stderr.splitlines() if l.strip() and not l.startswith("Available platform")]
    needed = [l for l in lines if "is needed" in l]
    return (needed or lines or [f"exit status {r.returncode}"])[0].replace("qt.qpa.plugin: ", "")


def _require_gui() -> None:
    if not has_display():
        raise InspectorError("no display found (set DISPLAY or WAYLAND_DISPLAY, or use the command-line tools)")
    why = qt_cannot_start()
    if why:
        raise InspectorError(f"the desktop application cannot start here: {why}")


def cmd_demo(args: argparse.Namespace) -> int:
    from inspector.demo import run_headless_demo

    if not args.headless and has_display():
        why = qt_cannot_start()
        if not why:
            from ui.app import run_app  # only here: the library itself never imports Qt

            return run_app(demo=True, device=args.device)
        print(f"the desktop application cannot start here ({why}): running the headless demo", file=sys.stderr)
    elif not args.headless:
        print("no display found: running the headless demo (inspector gui needs a desktop)", file=sys.stderr)
    if args.out is not None and args.out.exists():
        raise InspectorError(f"{args.out}: already exists; a log is never overwritten")
    run_headless_demo(args.n, seed=args.seed, hidden_share=args.hidden_share, rate=args.rate, device=args.device,
                      out=args.out)
    return 0


# -- simulate ---------------------------------------------------------------------------------
def _line_for(args: argparse.Namespace):
    from calibration import Rig
    from inspector.synth.line import LineConfig, SimulatedLine

    config = LineConfig(tilt_deg=args.tilt)
    rig = Rig.load(args.rig) if args.rig else None
    return SimulatedLine(config, rig)


def cmd_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    line = _line_for(args)
    if args.chessboards:
        from inspector.images import write_image

        folder = Path(args.chessboards)
        folder.mkdir(parents=True, exist_ok=True)
        images = line.chessboard_images(args.n, args.seed)
        for cam, shots in images.items():
            for i, image in enumerate(shots):
                write_image(folder / f"cam{cam}_{i:02d}.png", image)
        print(f"wrote {args.n} chessboard image(s) per camera to {folder} (board {line.config.board_pattern[0]}x"
              f"{line.config.board_pattern[1]}, squares {line.config.board_square_mm:g} mm)")
        return 0
    if not args.out:
        raise InspectorError("simulate: --out is required (or --chessboards DIR for calibration images)")
    from inspector.files import format_bytes
    from inspector.signals import stop_on_signals
    from inspector.synth.dataset import check_dataset_output, dataset_bytes, write_dataset

    check_dataset_output(Path(args.out), args.n, line, raw=args.raw, overwrite=args.overwrite)
    print(f"writing {args.n} pairs to {args.out}: at most {format_bytes(dataset_bytes(args.n, line, args.raw))} "
          "(uncompressed; gzip makes simulated images about a third smaller)")
    t0 = time.perf_counter()
    stops: list[str] = []  # why the user stopped it: "Ctrl-C received", "SIGTERM received"
    try:
        with stop_on_signals(stops.append), tqdm(total=args.n, unit="pair", desc="simulate",
                                                  disable=args.quiet) as bar:
            write_dataset(
                args.out,
                args.n,
                seed=args.seed,
                hidden_share=args.hidden_share,
                raw=args.raw,
                line=line,
                overwrite=args.overwrite,
                progress=lambda done: bar.update(done - bar.n),
                stop=lambda: bool(stops),
            )
    except KeyboardInterrupt:
        reason = stops[0] if stops else "Ctrl-C received"
        print(f"inspector simulate: {reason}: stopped, {args.out} not written", file=sys.stderr)
        return EXIT_TERMINATED if reason.startswith("SIGTERM") else EXIT_INTERRUPTED
    dt = time.perf_counter() - t0
    print(f"wrote {args.n} pairs to {args.out} in {dt:.1f} s ({args.n / dt:.0f} pairs/s)")
    return 0


# -- calibrate --------------------------------------------------------------------------------
def cmd_calibrate(args: argparse.Namespace) -> int:
    from calibration import Grid, calibrate_rig, parse_pattern

    images: dict[str, list[str]] = {}
    for entry in args.camera or []:
        name, files = entry[0], entry[1:]
        if not files:
            raise InspectorError(f"--camera {name}: no images given")
        if name in images:
            raise InspectorError(f"--camera {name} is given twice")
        images[name] = files
    missing = [c for c in ("1", "2") if c not in images]
    if missing:
        raise InspectorError(
            f"--camera {' and '.join(missing)} missing: a rig needs images of cameras 1 and 2 "
            "(e.g. --camera 1 cam1_*.png --camera 2 cam2_*.png)"
        )
    out = Path(args.out)
    _refuse_to_replace(out, args.overwrite)
    w, h = args.grid
    rig = calibrate_rig(
        images,
        parse_pattern(args.board),
        args.square_mm,
        grid=Grid(w, h, args.mm_per_px),
        max_error_px=args.max_error,
        software=f"inspector {__version__}",
    )
    sha = rig.save(out)
    for name, cam in sorted(rig.cameras.items()):
        print(
            f"camera {name}: {cam.n_images} image(s), {cam.n_corners} corners, reprojection error "
            f"{cam.reprojection_rms_px:.3f} px RMS, {cam.reprojection_max_px:.3f} px worst"
        )
    print(f"wrote rig {out} (sha256 {sha})")
    return 0


# -- train / evaluate -------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inspector.model.mvfn import ArchConfig
    from inspector.model.train import TrainConfig, check_split, load_dataset, save_trained, train

    out = Path(args.out)
    _refuse_to_replace(out, args.overwrite)
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
    from inspector.model.train import load_dataset

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


# -- explain / study --------------------------------------------------------------------------
def cmd_explain(args: argparse.Namespace) -> int:
    import json

    from calibration import Rig, load_default_rig
    from inspector.explain.explainers import start_explainer
    from inspector.images import read_image
    from inspector.model.checkpoint import load_model

    if args.out:  # refused before the work, not after it
        from inspector.evaluation.figure import figure_format
        from inspector.files import check_output_file

        check_output_file(Path(args.out), overwrite=args.overwrite)
        figure_format(args.out)
    view1, view2 = read_image(args.view1), read_image(args.view2)
    rig = None
    if args.raw:
        rig = Rig.load(args.rig) if args.rig else load_default_rig()
        view1 = rig.warp("1", view1, what=f"{args.view1} (camera 1)")
        view2 = rig.warp("2", view2, what=f"{args.view2} (camera 2)")
    elif args.rig:
        raise InspectorError("--rig applies to raw camera images: add --raw")
    elif view1.shape != view2.shape:
        raise InspectorError(f"{args.view1} is {view1.shape[1]}×{view1.shape[0]} but {args.view2} is "
                             f"{view2.shape[1]}×{view2.shape[0]}: the views of a pair must match")
    model = load_model(args.model, args.device)
    e = start_explainer(args.explainer, model).explain(view1, view2, target=args.target_class)
    if args.out:
        from inspector.evaluation.figure import save_explanation_figure

        save_explanation_figure(args.out, view1, view2, e)
    if args.json:
        doc = {**e.to_dict(), "model_sha256": model.sha256, "rig_sha256": rig.sha256 if rig else None,
               "views": [str(args.view1), str(args.view2)]}
        print(json.dumps(doc, indent=2))
        return 0
    print("class probabilities: " + ", ".join(f"{c} {100 * p:.1f}%" for c, p in zip(e.classes, e.probs)))
    print(f"explaining: {e.target_name}" + (" (predicted)" if e.target == e.predicted else
                                           f" (predicted: {e.classes[e.predicted]})") + f" with {args.explainer}")
    print(f"m = {e.m:+.3f} → influence: {e.influence}")
    for note in e.notes:
        print(f"note: {note}")
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inspector.evaluation.study import format_table, run_study, write_study
    from inspector.model.checkpoint import load_model
    from inspector.plugins import PluginRegistry

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InspectorError(f"{out}: exists and is not a folder")
    registry = PluginRegistry.discover()
    if args.explainers:
        return _compare_explainers(args, out, registry)
    model = load_model(args.model, args.device)
    per_class = args.per_class or 100
    with tqdm(total=3 * per_class, unit="pair", desc=f"study ({args.explainer})", disable=args.quiet) as bar:
        result = run_study(model, per_class, seed=args.seed, hidden_share=args.hidden_share,
                           progress=lambda done: bar.update(done - bar.n), explainer=args.explainer,
                           registry=registry)
    paths = write_study(result, out)
    print(format_table(result.summary))
    print(f"{result.summary['n']} pairs in {result.seconds:.0f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


def _compare_explainers(args: argparse.Namespace, out: Path, registry) -> int:
    from tqdm import tqdm

    from inspector.evaluation.compare import (
        DEFAULT_PER_CLASS, format_comparison, run_comparison, write_comparison,
    )
    from inspector.explain.explainers import parse_explainers
    from inspector.model.checkpoint import load_model

    names = parse_explainers(args.explainers, registry)
    model = load_model(args.model, args.device)
    per_class = args.per_class or DEFAULT_PER_CLASS
    with tqdm(total=3 * per_class * len(names), unit="pair", desc="compare", disable=args.quiet) as bar:
        finished: dict[str, int] = {}

        def progress(name: str, done: int, n: int) -> None:
            finished[name] = done
            bar.set_postfix_str(name)
            bar.update(sum(finished.values()) - bar.n)

        result = run_comparison(model, names, per_class, seed=args.seed, hidden_share=args.hidden_share,
                                registry=registry, progress=progress)
    paths = write_comparison(result, out)
    print(format_comparison(result))
    print(f"{len(result.labels)} pairs per explainer; * best of a row; wrote " + ", ".join(str(p) for p in paths))
    return 0


# -- bench ------------------------------------------------------------------------------------
def cmd_bench(args: argparse.Namespace) -> int:
    from inspector.bench import SECTIONS, format_table

    names = list(SECTIONS) if args.only is None else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise InspectorError(f"--only: unknown section(s) {', '.join(unknown)}; sections: {', '.join(SECTIONS)}")
    rows = []
    for name in names:
        rows += SECTIONS[name](device=args.device)
    print(format_table(rows))
    return 0


# -- run ----------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from inspector.acquisition import parse_key_values
    from inspector.devices import resolve_device
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.plugins import PluginRegistry
    from inspector.runner import StatusPrinter, format_summary, load_model_choice, load_rig_choice, open_source
    from inspector.signals import stop_on_signals

    registry = PluginRegistry.discover()
    source = open_source(registry, args.source, parse_key_values(args.source_opt))
    device = resolve_device(args.device)
    model = load_model_choice(registry, args.model, device)
    rig = load_rig_choice(args.rig) if source.raw else None
    explainer = registry.start("explainers", args.explainer, model, device=device)
    config = PipelineConfig(
        curves=args.curves, batch=args.batch, keep_all=args.keep_all,
        max_records=args.max or 0, max_seconds=args.seconds or 0.0,
    )
    printer = None

    def on_bad_frame(bad) -> None:
        if printer is not None:
            printer.message(f"bad frame skipped (cavity {bad.cavity_id}, frames {bad.frame_ids}): {bad.reason}")

    pipeline = Pipeline(
        source, model, rig=rig, out=args.out, explainer=explainer, config=config,
        retention=args.retention, rotate_records=args.rotate, on_bad_frame=on_bad_frame,
    )
    print(
        f"inspector run: source {source.describe()}; model {getattr(model, 'sha256', '?')[:12]} on {device.type}; "
        + (f"rig {rig.sha256[:12]}; " if rig is not None else "views on the plane; ")
        + f"curves {args.curves}; " + (f"log {args.out}" if args.out else "not logging (no --out)")
        + "; Ctrl-C stops",
        file=sys.stderr,
    )
    with stop_on_signals(pipeline.stop), StatusPrinter(pipeline, every=args.status_every) as printer:
        stats = pipeline.run()
    for line in format_summary(stats, source, args.out):
        print(line)
    if stats.inspected == 0 and not stats.stopped.endswith(" received"):  # not stopped by Ctrl-C or SIGTERM
        print(f"inspector run: error: nothing inspected: source {args.source} gave no usable pair (bad frames "
              f"{stats.bad_frames}, source errors {stats.source_errors}; {stats.stopped or 'ended'})", file=sys.stderr)
        return 1
    return 1 if stats.stopped.startswith(("source failed", "writing")) else 0


def cmd_audit(args: argparse.Namespace) -> int:
    import datetime as _dt

    from tqdm import tqdm

    from inspector.audit import audit, check_model, write_report

    out = args.out or Path(f"audit_{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%dT%H%M%S')}")
    if (out / "report.html").exists():
        raise InspectorError(f"{out}: already holds a report; choose another --out")
    if out.exists() and not out.is_dir():
        raise InspectorError(f"{out}: exists and is not a folder")
    if not args.stored:
        check_model(args.model)  # before any work: a model no task can load audits nothing
    bar = tqdm(total=0, unit="rec", desc="audit", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = audit(
            args.logs, model_path=args.model, stored=args.stored, scheduler=args.scheduler, workers=args.workers,
            threads_per_worker=args.threads_per_worker, device=args.device, chunk=args.chunk,
            include_open=args.include_open, progress=progress, explainer=args.explainer,
        )
    finally:
        bar.close()
    for info in result.logs:
        if info.skipped:
            print(f"skipped {info.path}: {info.skipped}")
    for path, start, stop, error in result.failed_tasks:
        print(f"failed {path} records {start}-{stop - 1}: {error}")
    if result.summary is None:  # the logs named are the input, and none of it could be used
        raise InspectorError(_nothing_audited(result))
    report = write_report(result, out)
    s = result.summary
    print(f"{s.records} records from {sum(1 for i in result.logs if not i.skipped)} logs ({result.mode}) in "
          f"{result.seconds:.1f} s, {result.records_per_s:.0f} records/s on {result.workers} worker(s)")
    for c in s.classes:
        shares = s.influence_shares(c)
        text = ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items() if v == v)
        print(f"  {c:<8} {s.per_class[c]:>7}  mean m {s.mean_m(c):+.3f}  {text}")
    if s.labelled:
        print(f"engineer labels: {s.labelled}, agreeing {100 * s.label_accuracy:.1f}%")
    if not args.stored:
        print(f"re-computed {s.compared}, disagreeing with the stored prediction: {len(s.disagreements)}; "
              f"not re-runnable (views not kept): {s.not_rerunnable}")
    print(f"report: {report}")
    return 0


def _nothing_audited(result) -> str:
    """Why an audit found no record to audit, in one line (the lines above it name each log)."""
    failed = sorted({path for path, *_ in result.failed_tasks})
    skipped = [i for i in result.logs if i.skipped]
    if len(result.logs) == 1 and skipped:
        info = skipped[0]
        why = info.skipped if info.skipped.startswith(info.path) else f"{info.path}: {info.skipped}"
        return f"nothing audited: {why}; no report written"
    if len(result.logs) == 1 and failed:
        return f"nothing audited: every record range of {failed[0]} failed (see above); no report written"
    parts = [f"{len(skipped)} skipped"] * bool(skipped) + [f"{len(failed)} failed"] * bool(failed)
    empty = len(result.logs) - len(skipped) - len(failed)
    parts += [f"{empty} without records"] * bool(empty)
    return f"nothing audited: of {len(result.logs)} log(s), {', '.join(parts)} (see above); no report written"


def cmd_gui(args: argparse.Namespace) -> int:
    _require_gui()
    from ui.app import run_app

    return run_app(view="operator", device=args.device)


def cmd_review(args: argparse.Namespace) -> int:
    from inspector.records import RecordReader

    with RecordReader(args.log):  # a log that cannot be opened is reported here, in one line
        pass
    _require_gui()
    from ui.app import run_app

    return run_app(view="review", log=str(args.log), device=args.device)


def cmd_plugins(args: argparse.Namespace) -> int:
    from inspector.plugins import PluginRegistry
    from inspector.runner import describe_plugins

    for line in describe_plugins(PluginRegistry.discover(), verbose=args.verbose, debug=args.debug):
        print(line)
    return 0


# -- log: maintenance of inspection logs ------------------------------------------------------
def cmd_log_close(args: argparse.Namespace) -> int:
    from inspector.records.repair import close_log

    print(close_log(args.log, force=args.force).describe())
    return 0


def add_log_parser(sub) -> None:
    p = sub.add_parser(
        "log",
        help="maintenance of inspection logs (close one whose writer died)",
        formatter_class=_Formatter,
        description="Maintenance of inspection logs. `inspector log close LOG` closes a log whose writer "
        "was killed mid-run, so that every HDF5 tool reads it.",
    )
    log_sub = p.add_subparsers(dest="log_command", metavar="LOG_COMMAND", required=True)
    p = log_sub.add_parser(
        "close",
        help="close a log whose writer died, so that every HDF5 tool reads it",
        formatter_class=_Formatter,
        description="A writer killed mid-run leaves its log flagged as open for writing: the committed "
        "records are intact and inspector reads them, but h5dump, h5ls, HDFView and MATLAB refuse the "
        "file. This clears the flags (as `h5clear -s` does), trims every dataset to the committed "
        "records and marks the log closed, in place. It refuses while the writer still runs (the log "
        "names its host, pid and start time), and for a writer on another host unless --force. A log "
        "already closed is left untouched.",
    )
    p.add_argument("log", type=Path, help="the inspection log (.h5)")
    p.add_argument("--force", action="store_true",
                   help="close it even where whether its writer still runs cannot be told (another host, "
                   "a log that does not name its writer); make sure no process writes it")
    p.set_defaults(func=cmd_log_close)


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="inspector",
        formatter_class=_Formatter,
        description=(
            "Inspect injection-mold cavities with two cameras: inverse perspective mapping onto the "
            "cavity plane, a multi-view fusion network, and explanations of every decision."
        ),
    )
    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of any error (for reporting a bug), not just its one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "demo",
        help="open the application on the simulated line, inspecting and recording (headless without a display)",
        formatter_class=_Formatter,
        description="With a display: open the desktop application on the simulated line, already inspecting "
        "and recording into a log in a temporary folder (the window shows its path). Without one (or with "
        "--headless): run the live pipeline (as `inspector run --source simulator`) on the simulated "
        "dual-camera line for N cavities, two per shot, and print one line per cavity: the true class, "
        "what hides the cavity from a camera, the shipped model's verdict and probability, m and the "
        "camera the decision rests on, and the latency from the cameras to the explanation.",
    )
    p.add_argument("--n", type=_positive_int, default=12, help="number of cavities to inspect")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the simulated line")
    p.add_argument("--hidden-share", type=_share, default=0.25,
                   help="share of cavities hidden from one camera by glare or a fixture")
    p.add_argument("--rate", type=float, default=4.0, help="shots per second of the simulated line")
    p.add_argument("--headless", action="store_true",
                   help="print to the terminal even where a display is available (the default without one)")
    p.add_argument("--out", type=Path, help="also write the inspections to this new log (.h5)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "simulate",
        help="render a dataset of the simulated line (or its calibration images)",
        formatter_class=_Formatter,
        description="Render N cavity pairs of the simulated line into an HDF5 dataset: datasets view1, "
        "view2 (N×H×W×3 uint8, mapped onto the cavity plane through the line's rig), label "
        "(class index; names in the attribute 'classes'), evidence ('both', 'camera 1', "
        "'camera 2'), gap_mm, hidden_camera, hide, and with --raw the oblique camera images raw1, "
        "raw2. The same seed gives the same bytes. With --chessboards DIR it writes the line's "
        "calibration board images instead, for `inspector calibrate`.",
    )
    p.add_argument("--n", type=_positive_int, default=300, help="number of pairs (or board images per camera)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed")
    p.add_argument("--out", help="HDF5 file to write (refused if it exists, unless --overwrite)")
    p.add_argument("--hidden-share", type=_share, default=0.0,
                   help="share of samples whose decisive zone one camera cannot see (glare or fixture)")
    p.add_argument("--raw", action="store_true", help="also store the raw oblique camera images")
    p.add_argument("--tilt", type=float, default=30.0,
                   help="camera tilt off vertical in degrees, 0 to 60; other than 30 the line calibrates its own rig")
    p.add_argument("--rig", help="rig file to map the views with (default: the shipped simulated-line rig)")
    p.add_argument("--chessboards", metavar="DIR", help="write N calibration board images per camera to DIR")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "calibrate",
        help="estimate a rig (camera image → cavity plane) from chessboard images",
        formatter_class=_Formatter,
        description="Find the chessboard in every image (cv2.findChessboardCorners + cornerSubPix), fit "
        "one homography per camera from all its images (RANSAC, then least squares on the "
        "inliers), and write the rig as JSON. The board lies on the cavity plane, centred on the "
        "cavity, rows along the plane's x axis, the black corner square at the top left of the "
        "top-down view. A camera whose RMS reprojection error exceeds --max-error is refused.",
        epilog="example: inspector calibrate --camera 1 cb/cam1_*.png --camera 2 cb/cam2_*.png "
        "--board 9x6 --square-mm 4 --out rig.json",
    )
    p.add_argument("--camera", nargs="+", action="append", metavar=("NAME", "IMAGE"),
                   help="a camera's name (1 or 2) followed by its chessboard images; give once per camera")
    p.add_argument("--board", default="9x6", help="inner corners of the board as COLSxROWS")
    p.add_argument("--square-mm", type=_positive_float, required=True, help="side of one board square in mm")
    p.add_argument("--out", required=True, help="rig file to write (JSON)")
    p.add_argument("--grid", type=_grid_size, default=(128, 128), help="IPM output size WIDTHxHEIGHT in pixels")
    p.add_argument("--mm-per-px", type=_positive_float, default=0.375, help="IPM output resolution on the plane")
    p.add_argument("--max-error", type=_positive_float, default=1.0, help="largest accepted RMS reprojection error (px)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing rig file")
    p.set_defaults(func=cmd_calibrate)
    p = sub.add_parser(
        "train",
        help="train a model (the MVFN, or a single-view baseline) on a dataset",
        formatter_class=_Formatter,
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
    p.add_argument("--epochs", type=_positive_int, default=14, help="most epochs to train")
    p.add_argument("--batch", type=_positive_int, default=64, help="batch size")
    p.add_argument("--lr", type=_positive_float, default=3e-3, help="peak learning rate (one-cycle schedule)")
    p.add_argument("--patience", type=_positive_int, default=4,
                   help="stop after this many epochs without a better validation loss")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the split, initialisation and augmentation")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train")
    p.add_argument("--arch", default="mvfn", choices=["mvfn", "single-view"], help="architecture")
    p.add_argument("--view", type=int, default=1, choices=[1, 2], help="camera of the single-view baseline")
    p.add_argument("--shared-branches", action="store_true", help="one outer branch for both views (MVFN)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="accuracy of a model on a labelled dataset, per class and per evidence group",
        formatter_class=_Formatter,
        description="Predict every pair of a labelled dataset and print the accuracy overall, per class, "
        "per evidence group (which camera shows what decides the class) and the confusion matrix.",
    )
    p.add_argument("--data", required=True, help="labelled dataset (HDF5)")
    p.add_argument("--model", help="checkpoint (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run")
    p.add_argument("--batch", type=_positive_int, default=128, help="batch size")
    p.add_argument("--json", help="also write the report as JSON to this file (refused if it exists, unless "
                   "--overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "explain",
        help="explain one pair: class probabilities, Grad-CAM per view and stage, curves, m, influence",
        formatter_class=_Formatter,
        description="Explain the model's decision on one pair of views with Tilgner et al.'s method: Grad-CAM of "
        "the target class at the four stages of each view's branch, occlusion masks from the "
        "stage-4 maps, the masked-input curves a1 (both views), a2 (camera 1 masked), a3 (camera 2 "
        "masked), m = mean(a2 − a3) and the camera the decision rests on (|m| < 0.02: equal). "
        "Prints probabilities, target, m and influence; --out draws the figure of Tilgner et al.'s Fig. 4.",
    )
    p.add_argument("view1", help="camera 1's image (a view on the cavity plane, or raw with --raw)")
    p.add_argument("view2", help="camera 2's image")
    p.add_argument("--raw", action="store_true", help="the images are oblique camera images: apply IPM first")
    p.add_argument("--rig", help="rig for --raw (default: the shipped simulated-line rig)")
    p.add_argument("--class", dest="target_class", metavar="NAME",
                   help="class to explain (default: the predicted one)")
    p.add_argument("--model", help="checkpoint (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run")
    p.add_argument("--out", help="write the figure here (PNG, or the format its extension names; refused if it "
                   "exists, unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print the explanation as JSON instead of text")
    p.add_argument("--explainer", default="gradcam",
                   help="explainer plugin whose maps are the prior of the masks (`inspector plugins` lists them)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "study",
        help="the paper's study on the simulated line: m, influence shares, curves per class",
        formatter_class=_Formatter,
        description="Explain N simulated pairs per class and report, per class, the distribution of m, the "
        "share of camera 1 / camera 2 / equal, mean curves with their spread and accuracy-vs-p "
        "against the true labels; and, for the pairs that only one camera can see, how often the "
        "influence names that camera. Writes PNG figures and summary.json to --out and prints a table.",
    )
    p.add_argument("--per-class", type=_positive_int,
                   help="pairs per class (default: 100; 20 with --explainers)")
    p.add_argument("--seed", type=_seed, default=2024, help="seed of the simulated pairs (not one used in training)")
    p.add_argument("--hidden-share", type=_share, default=0.3,
                   help="share of pairs hidden from one camera by glare or a fixture")
    p.add_argument("--out", required=True, help="folder for the figures and summary.json")
    p.add_argument("--model", help="checkpoint (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--explainer", default="gradcam", help="explainer plugin whose maps are the prior of the masks")
    p.add_argument("--explainers", metavar="NAME,NAME,...",
                   help="compare these explainers on the same pairs instead (e.g. gradcam,hirescam,gradcampp,"
                   "scorecam,rise): runtime, drop %%, increase %%, deletion and insertion AUC per camera and "
                   "coupled, Tilgner et al.'s curves and m, agreement with the ground truth; writes comparison.json, "
                   "comparison.md and figures")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser(
        "run",
        help="inspect live: a source through the rig, the model and the explainer into a log",
        formatter_class=_Formatter,
        description="Run the live pipeline headless: a source plugin delivers camera pairs (its own thread, "
        "with a bounded latest-frames slot: pairs that arrive while the model is busy are dropped and "
        "counted), the rig maps them onto the cavity plane, the model classifies them in batches with "
        "eight Grad-CAM maps each, curves are computed as --curves asks, and records are written on "
        "their own thread. A status line shows throughput, latency per stage, counts per class, drops "
        "and errors. Ctrl-C or SIGTERM stops cleanly: the batch in flight is finished and written and "
        "the log is closed valid; a second Ctrl-C stops at once. `inspector plugins` lists the sources "
        "and their options.",
        epilog="examples:\n"
        "  inspector run --source simulator --source-opt rate=5 --out line.h5 --max 200\n"
        "  inspector run --source folder --source-opt path=shots/ --source-opt watch=true --out logs/\n"
        "  inspector run --source video --source-opt cam1=0 --source-opt cam2=1 --rig rig.json --out logs/",
    )
    p.add_argument("--source", default="simulator", help="source plugin name")
    p.add_argument("--source-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the source (repeat for several)")
    p.add_argument("--rig", help="rig file for raw camera images (default: the simulated line's rig)")
    p.add_argument("--model", help="checkpoint file or model plugin name (default: the shipped model)")
    p.add_argument("--explainer", default="gradcam", help="explainer plugin name")
    p.add_argument("--out", type=Path,
                   help="log to create (.h5), or an existing folder to write rotating logs into")
    p.add_argument("--rotate", type=_positive_int, help="with a folder --out: records per log file")
    p.add_argument("--retention", default="all", choices=["all", "nok-images"],
                   help="keep the views of every record, or only of cavities not judged correct")
    p.add_argument("--curves", default="nok", choices=["all", "nok", "none"],
                   help="masked-input curves for every cavity, for those not judged correct, or none")
    p.add_argument("--batch", type=_positive_int, default=8, help="most pairs the model takes at once")
    p.add_argument("--keep-all", action="store_true",
                   help="never drop: the source waits while the model is busy (folders and video files)")
    p.add_argument("--max", type=_positive_int, help="stop after this many inspections")
    p.add_argument("--seconds", type=_positive_float, help="stop after this many seconds")
    p.add_argument("--status-every", type=_positive_float, help="seconds between status lines (default: 0.5 on a "
                   "terminal, 5 otherwise)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "audit",
        help="re-analyse many logs (on Dask) and write an HTML report",
        formatter_class=_Formatter,
        description="Audit inspection logs: split them into tasks by file and record range, re-run the model "
        "on the stored views (or read the stored results with --stored), merge per-class counts, the "
        "distribution of m, influence shares, mean curves, agreement with engineer labels and the "
        "records where stored and re-computed predictions disagree, and write report.html (figures "
        "beside it, no network needed) and summary.json. Runs on a local Dask cluster of --workers "
        "processes by default, on an existing cluster with --scheduler tcp://HOST:PORT, or in this "
        "process with --scheduler none. Logs that cannot be read are named with the reason and the "
        "rest is audited; logs still open for writing are skipped unless --include-open.",
    )
    p.add_argument("logs", nargs="+", metavar="LOG_OR_DIR", help="log files, folders of logs, or glob patterns")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--model", help="checkpoint to re-run the logs with (default: the shipped model)")
    how.add_argument("--stored", action="store_true", help="read the stored results instead of re-running")
    p.add_argument("--scheduler", default="local",
                   help="local (a LocalCluster), none (this process), or a scheduler address tcp://HOST:PORT")
    p.add_argument("--workers", type=_positive_int, default=2, help="worker processes of a local cluster")
    p.add_argument("--threads-per-worker", type=_positive_int,
                   help="torch threads per worker (default: the cores shared among the workers)")
    p.add_argument("--chunk", type=_positive_int, default=1024, help="records per task")
    p.add_argument("--include-open", action="store_true", help="also audit logs still open for writing")
    p.add_argument("--out", type=Path, help="report folder (default: audit_<UTC time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where workers run the model (cuda: tasks go to workers with a GPU resource)")
    p.add_argument("--explainer", default="gradcam",
                   help="explainer plugin the records are re-analysed with (its maps are the prior of the masks)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "gui",
        help="open the desktop application (operator, review and audit views)",
        formatter_class=_Formatter,
        description="Open the desktop application with nothing running: the operator view (choose a source, "
        "start and stop, live views with Grad-CAM overlays, verdict, curves, counters, NOK gallery, "
        "recording), the review view (open a log, filter, label, export, re-run) and the audit view.",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser(
        "review",
        help="open the review view of the desktop application on a log",
        formatter_class=_Formatter,
        description="Open a log in the review view: a table of its records (following new ones while it is "
        "written) with sorting and filters, the detail of each record (views, eight heatmaps, curves, "
        "probabilities, provenance), engineer labels, exports and re-runs with the current model.",
    )
    p.add_argument("log", type=Path, help="the inspection log (.h5)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where re-runs run")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser(
        "plugins",
        help="list the source, model and explainer plugins, with their status and errors",
        formatter_class=_Formatter,
        description="Discover every plugin through its entry point (groups inspector.sources, "
        "inspector.models, inspector.explainers), import each on its own, and list them with their "
        "distribution and status. A plugin that fails to import is listed with its error; it never "
        "stops the others. Sources also list their options (for --source-opt).",
    )
    p.add_argument("--verbose", action="store_true",
                   help="show the whole error of each failure, with the errors it came from "
                   "(`inspector --debug plugins` also shows the traceback)")
    p.set_defaults(func=cmd_plugins)

    add_log_parser(sub)

    p = sub.add_parser(
        "bench",
        help="measure speed figures side by side in one run and print them as a table",
        formatter_class=_Formatter,
        description="Measure the figures the README reports, each section in the same run: simulator "
        "throughput on one core (rendering both cameras and IPM); the explanation engine per pair "
        "(prediction, eight maps, curves, whole) beside a naive captum baseline and beside the "
        "floor (the method's FLOPs over this device's matrix-product rate); the inspection log's "
        "append rate with a reader following, bytes per record, and the compression and fsync "
        "alternatives; the live pipeline beside the bare model; a soak of 2,000 inspections (memory, "
        "hooks, threads); the audit on 1 and 2 Dask workers; the operator view's event-loop latency "
        "while inspecting at full speed. Nothing is asserted; compare with the targets in the README.",
    )
    p.add_argument("--only", help="comma-separated sections to run (default: all); sections: simulator, explain, records, "
                   "pipeline, soak, audit, gui")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="device of the model sections (explain); the simulator always runs on the CPU")
    p.set_defaults(func=cmd_bench)
    return parser


def _one_line(exc: BaseException) -> str:
    """An exception as `Type: first line of its message`, for a user who did not ask for a traceback."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: Optional[Sequence[str]] = None) -> int:
    import traceback

    parser = build_parser()
    args = parser.parse_args(argv)
    # "log close", not just "log": the line names the command the user typed.
    command = " ".join(v for v in (args.command, getattr(args, "log_command", None)) if v)
    try:
        return int(args.func(args) or 0)
    except InspectorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"inspector {command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"inspector {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: a user gets one line; whoever reports it reruns with --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"inspector {command}: internal error: {_one_line(exc)} (run with --debug for the traceback)",
                  file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
