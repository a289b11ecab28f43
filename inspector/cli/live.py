"""`inspector demo` and `inspector run`: the live pipeline on the simulated line, or on any source."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.cli.options import (
    add_command,
    add_device,
    add_fill,
    add_model,
    add_opcua,
    add_source_options,
    positive_float,
    positive_int,
    seed,
    share,
)
from inspector.errors import InspectorError


def cmd_demo(args: argparse.Namespace) -> int:
    from inspector.cli.contributions import has_display
    from inspector.demo import run_headless_demo

    # The window comes from the desktop application's `inspector.commands` entry point, if installed.
    window = getattr(args, "window", None)
    if not args.headless and has_display():
        why = window.cannot_start() if window is not None else "no desktop application is installed"
        if not why:
            return window.run(args)
        print(f"the desktop application cannot start here ({why}): running the headless demo", file=sys.stderr)
    elif not args.headless:
        print("no display found: running the headless demo (inspector gui needs a desktop)", file=sys.stderr)
    if args.out is not None and args.out.exists():
        raise InspectorError(f"{args.out}: already exists; a log is never overwritten")
    run_headless_demo(args.n, seed=args.seed, hidden_share=args.hidden_share, rate=args.rate, device=args.device,
                      out=args.out)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from inspector.acquisition import parse_key_values
    from inspector.devices import resolve_device
    from inspector.fill_names import fill_option
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.plugins import PluginRegistry
    from inspector.runner import StatusPrinter, format_summary, load_model_choice, load_rig_choice, open_source
    from inspector.signals import stop_on_signals

    endpoint = _check_opcua(args)  # a bad address or a port in use is refused before the model loads
    registry = PluginRegistry.discover()
    source = open_source(registry, args.source, parse_key_values(args.source_opt))
    device = resolve_device(args.device)
    model = load_model_choice(registry, args.model, device)
    rig = load_rig_choice(args.rig) if source.raw else None
    explainer = registry.start("explainers", args.explainer, model, device=device, **fill_option(args.fill))
    config = PipelineConfig(
        curves=args.curves, batch=args.batch, keep_all=args.keep_all, fill=args.fill,
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
    line = _start_line_server(args, endpoint, pipeline) if endpoint is not None else None
    print(
        f"inspector run: source {source.describe()}; model {getattr(model, 'sha256', '?')[:12]} on {device.type}; "
        + (f"rig {rig.sha256[:12]}; " if rig is not None else "views on the plane; ")
        + f"curves {args.curves}" + ("" if args.fill == "zero" else f" (fill {args.fill})") + "; "
        + (f"log {args.out}" if args.out else "not logging (no --out)")
        + "; Ctrl-C stops",
        file=sys.stderr,
    )
    try:
        with stop_on_signals(pipeline.stop), StatusPrinter(pipeline, every=args.status_every) as printer:
            if line is not None and args.opcua_wait_for_subscriber:
                line[0].wait_for_subscriber(args.opcua_wait_for_subscriber, lambda: pipeline.stopping)
            stats = pipeline.run()
    finally:
        if line is not None:
            line[1].finish(pipeline.stats())
            line[0].close(hold_s=args.opcua_wait_for_subscriber or 0.0)
    if line is not None:
        for text in line[0].drop_report():
            print(f"inspector run: OPC UA: {text}", file=sys.stderr)
    for line in format_summary(stats, source, args.out):
        print(line)
    if stats.inspected == 0 and not stats.stopped.endswith(" received"):  # not stopped by Ctrl-C or SIGTERM
        print(f"inspector run: error: nothing inspected: source {args.source} gave no usable pair (bad frames "
              f"{stats.bad_frames}, source errors {stats.source_errors}; {stats.stopped or 'ended'}"
              + (f"; LOST {stats.lost_text()}" if stats.lost else "") + ")", file=sys.stderr)
        return 1
    return 1 if stats.stopped.startswith(("source failed", "writing")) else 0


def _check_opcua(args):
    """The line server's address, checked (None without --opcua)."""
    if args.opcua is None:
        for flag in ("opcua_allow_insecure_remote", "opcua_wait_for_subscriber", "opcua_client_backlog"):
            if getattr(args, flag):
                raise InspectorError(f"--{flag.replace('_', '-')}: only with --opcua")
        return None
    from inspector.opcua.run_publisher import check_line_server

    return check_line_server(args.opcua, args.opcua_security, args.opcua_allow_insecure_remote)


def _start_line_server(args, endpoint, pipeline):
    """(LineServer, RunPublisher), serving; Stop over OPC UA stops the run as Ctrl-C does."""
    from inspector.opcua.run_publisher import serve_run

    server, publisher = serve_run(endpoint, args.opcua_security, pipeline, client_backlog=args.opcua_client_backlog)
    print(f"inspector run: OPC UA at {endpoint.url} (security {args.opcua_security})", file=sys.stderr)
    return server, publisher


def add_demo(sub) -> None:
    p = add_command(
        sub, "demo", help="open the application on the simulated line, inspecting and recording (headless without a display)",
        description="With a display: open the desktop application on the simulated line, already inspecting "
        "and recording into a log in a temporary folder (the window shows its path). Without one (or with "
        "--headless): run the live pipeline (as `inspector run --source simulator`) on the simulated "
        "dual-camera line for N cavities, two per shot, and print one line per cavity: the true class, "
        "what hides the cavity from a camera, the shipped model's verdict and probability, m and the "
        "camera the decision rests on, and the latency from the cameras to the explanation.",
    )
    p.add_argument("--n", type=positive_int, default=12, help="number of cavities to inspect")
    p.add_argument("--seed", type=seed, default=0, help="seed of the simulated line")
    p.add_argument("--hidden-share", type=share, default=0.25,
                   help="share of cavities hidden from one camera by glare or a fixture")
    p.add_argument("--rate", type=float, default=4.0, help="shots per second of the simulated line")
    p.add_argument("--headless", action="store_true",
                   help="print to the terminal even where a display is available (the default without one)")
    p.add_argument("--out", type=Path, help="also write the inspections to this new log (.h5)")
    add_device(p, "where the model runs")
    p.set_defaults(func=cmd_demo)


def add_run(sub) -> None:
    p = add_command(
        sub, "run", help="inspect live: a source through the rig, the model and the explainer into a log",
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
    add_source_options(p)
    p.add_argument("--rig", help="rig file for raw camera images (default: the simulated line's rig)")
    add_model(p, "checkpoint file or model plugin name (default: the shipped model)")
    p.add_argument("--explainer", default="gradcam", help="explainer plugin name")
    add_fill(p)
    p.add_argument("--out", type=Path,
                   help="log to create (.h5), or an existing folder to write rotating logs into")
    p.add_argument("--rotate", type=positive_int, help="with a folder --out: records per log file")
    p.add_argument("--retention", default="all", choices=["all", "nok-images"],
                   help="keep the views of every record, or only of cavities not judged OK (not the model's OK class)")
    p.add_argument("--curves", default="nok", choices=["all", "nok", "none"],
                   help="masked-input curves for every cavity, for those not judged OK (not the model's OK class), or none")
    p.add_argument("--batch", type=positive_int, default=8, help="most pairs the model takes at once")
    p.add_argument("--keep-all", action="store_true",
                   help="never drop: the source waits while the model is busy (folders and video files)")
    p.add_argument("--max", type=positive_int, help="stop after this many inspections")
    p.add_argument("--seconds", type=positive_float, help="stop after this many seconds")
    add_opcua(p)
    p.add_argument("--status-every", type=positive_float, help="seconds between status lines (default: 0.5 on a "
                   "terminal, 5 otherwise)")
    add_device(p, "where the model runs")
    p.set_defaults(func=cmd_run)


COMMANDS = {"demo": add_demo, "run": add_run}
