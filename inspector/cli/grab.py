"""`inspector grab`: raw pairs from any source saved as PNG, for calibrating a rig or building a dataset."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from inspector.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    add_command,
    add_overwrite,
    add_source_options,
    positive_float,
    positive_int,
)
from inspector.errors import InspectorError


def pair_paths(out: Path, i: int) -> tuple[Path, Path]:
    """Where pair `i` goes: names the folder source's default patterns (`*_cam1.png`, `*_cam2.png`) pair
    again, and that sort in the order they were grabbed."""
    return out / f"{i:04d}_cam1.png", out / f"{i:04d}_cam2.png"


def cmd_grab(args: argparse.Namespace) -> int:
    from inspector.acquisition import EndOfSource, FrameError, parse_key_values
    from inspector.files import write_then_rename
    from inspector.images import write_image
    from inspector.plugins import PluginRegistry
    from inspector.runner import open_source
    from inspector.signals import stop_on_signals
    from inspector.source_images import check_image

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InspectorError(f"{out}: exists and is not a folder")
    taken = [p for i in range(args.n) for p in pair_paths(out, i) if p.exists()]
    if taken and not args.overwrite:
        raise InspectorError(f"{taken[0]}: already exists; choose another --out, or pass --overwrite")
    source = open_source(PluginRegistry.discover(), args.source, parse_key_values(args.source_opt))
    out.mkdir(parents=True, exist_ok=True)
    stops: list[str] = []
    got, skipped, ended = 0, 0, ""
    with stop_on_signals(stops.append), source:
        last = time.monotonic()
        while got < args.n and not stops:
            try:
                pair = source.read(0.5)
            except FrameError as exc:
                skipped += 1
                print(f"inspector grab: skipped a pair: {exc}", file=sys.stderr)
                continue
            except EndOfSource as exc:
                ended = str(exc) or "the source ended"
                break
            if pair is None:
                if time.monotonic() - last > args.timeout:
                    lost = "; ".join(f"{k} lost: {v}" for k, v in source.counters.lost_cameras().items())
                    raise InspectorError(f"source {args.source}: no pair within {args.timeout:g} s"
                                         + (f" ({lost})" if lost else "") + f"; {got} pair(s) saved in {out}")
                continue
            last = time.monotonic()
            for cam, (path, image) in enumerate(zip(pair_paths(out, got), (pair.image1, pair.image2)), start=1):
                rgb = check_image(image, f"camera {cam} image")
                write_then_rename(path, lambda tmp, rgb=rgb: write_image(tmp, rgb, ".png"))
            got += 1
            print(f"pair {got}/{args.n}: frames {pair.frame_ids[0]}, {pair.frame_ids[1]}", file=sys.stderr)
    print(f"wrote {got} pair(s) to {out} as NNNN_cam1.png and NNNN_cam2.png"
          + (f"; skipped {skipped} unusable pair(s)" if skipped else ""))
    if got:
        print(f"next, for a chessboard: inspector calibrate --camera 1 {out}/*_cam1.png --camera 2 {out}/*_cam2.png "
              "--square-mm S --out rig.json")
    if stops:
        print(f"inspector grab: {stops[0]}: stopped after {got} pair(s)", file=sys.stderr)
        return EXIT_TERMINATED if stops[0].startswith("SIGTERM") else EXIT_INTERRUPTED
    if got < args.n:
        print(f"inspector grab: error: {ended}: {got} of {args.n} pair(s) saved", file=sys.stderr)
        return 1
    return 0


def add_grab(sub) -> None:
    p = add_command(
        sub, "grab", help="save N raw pairs of a source (the cameras) as PNG, for calibration or a dataset",
        description="Open a source plugin, read N pairs from it as a run would (a triggered camera source "
        "pairs both cameras' frames of one shot) and save each camera's image, as delivered, to --out as "
        "NNNN_cam1.png and NNNN_cam2.png: the folder source's default patterns read them back as pairs, and "
        "`inspector calibrate` takes them as chessboard images. Ctrl-C stops and keeps what was saved.",
        epilog="examples:\n"
        "  inspector grab --source genicam --source-opt cam1=CAM1 --source-opt cam2=CAM2 "
        "--source-opt trigger=software --n 20 --out chessboards/\n"
        "  inspector grab --source simulator --source-opt rate=0 --n 5 --out pairs/",
    )
    p.add_argument("--source", required=True, help="source plugin name (`inspector plugins` lists them)")
    add_source_options(p)
    p.add_argument("--out", type=Path, required=True, help="folder for the images (made if missing)")
    p.add_argument("--n", type=positive_int, default=10, help="pairs to save")
    p.add_argument("--timeout", type=positive_float, default=10.0,
                   help="give up when no pair came for this many seconds")
    add_overwrite(p, "replace images of an earlier grab in --out")
    p.set_defaults(func=cmd_grab)


COMMANDS = {"grab": add_grab}
