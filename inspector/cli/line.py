"""`inspector simulate` and `inspector calibrate`: the simulated line's images, and rigs from chessboards."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from inspector.version import __version__
from inspector.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    add_command,
    add_overwrite,
    add_quiet,
    grid_size,
    positive_float,
    positive_int,
    refuse_to_replace,
    seed,
    share,
)
from inspector.errors import InspectorError


def _line_for(args: argparse.Namespace):
    from calibration import Rig
    from inspector.synth.line import SimulatedLine
    from inspector.synth.variants import load_line

    variant = load_line(args.line)
    if args.tilt is not None:
        variant = variant.with_tilt(args.tilt)
    rig = Rig.load(args.rig) if args.rig else None
    return SimulatedLine(variant.config(), rig)


def cmd_simulate(args: argparse.Namespace) -> int:
    line = _line_for(args)
    if args.images:
        return _simulate_images(args, line)
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
        raise InspectorError("--out is required (or --images DIR for class folders of PNG pairs, --chessboards DIR for "
                             "calibration images)")
    from tqdm import tqdm

    from inspector.files import format_bytes
    from inspector.signals import stop_on_signals
    from inspector.synth.dataset import check_dataset_output, dataset_bytes, write_dataset

    check_dataset_output(Path(args.out), args.n, line, raw=args.raw, overwrite=args.overwrite)
    print(f"writing {args.n} pairs to {args.out}: at most {format_bytes(dataset_bytes(args.n, line, args.raw))} "
          f"(uncompressed; gzip makes simulated images about a third smaller); line {line.config.name}")
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


def _simulate_images(args: argparse.Namespace, line) -> int:
    from tqdm import tqdm

    from inspector.files import format_bytes
    from inspector.signals import stop_on_signals
    from inspector.synth.image_folder import check_images_output, images_bytes, write_image_folders

    folder = Path(args.images)
    check_images_output(folder, args.n, line, raw=args.raw, overwrite=args.overwrite)
    kind = "raw camera images" if args.raw else "views"
    print(f"writing {args.n} pairs ({kind}) of line {line.config.name} to {folder}/<class>/: at most "
          f"{format_bytes(images_bytes(args.n, line, args.raw))}")
    t0 = time.perf_counter()
    stops: list[str] = []
    try:
        with stop_on_signals(stops.append), tqdm(total=args.n, unit="pair", desc="simulate",
                                                  disable=args.quiet) as bar:
            counts = write_image_folders(
                folder, args.n, seed=args.seed, hidden_share=args.hidden_share, raw=args.raw, line=line,
                overwrite=args.overwrite, progress=lambda done: bar.update(done - bar.n), stop=lambda: bool(stops),
            )
    except KeyboardInterrupt:
        reason = stops[0] if stops else "Ctrl-C received"
        print(f"inspector simulate: {reason}: stopped, {folder} not written", file=sys.stderr)
        return EXIT_TERMINATED if reason.startswith("SIGTERM") else EXIT_INTERRUPTED
    dt = time.perf_counter() - t0
    per_class = ", ".join(f"{c} {k}" for c, k in counts.items())
    extra = f"; rig {folder / 'rig.json'}" if args.raw else ""
    print(f"wrote {args.n} pairs ({kind}) to {folder} in {dt:.1f} s: {per_class}; ground truth "
          f"{folder / 'evidence.csv'}{extra}")
    return 0


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
    refuse_to_replace(out, args.overwrite)
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


def add_simulate(sub) -> None:
    p = add_command(
        sub, "simulate", help="render a dataset of the simulated line (or its calibration images)",
        description="Render N cavity pairs of the simulated line. With --out FILE: an HDF5 dataset with "
        "view1, view2 (N×H×W×3 uint8, mapped onto the cavity plane through the line's rig), label "
        "(class index; names in the attribute 'classes'), evidence ('both', 'camera 1', "
        "'camera 2'), gap_mm, hidden_camera, hide, with --raw also the oblique camera images raw1, "
        "raw2; its attribute 'line' names the line variant and its values. With --images DIR: the "
        "class-folder layout a plant keeps, DIR/<class>/<key>_cam1.png and _cam2.png (key: the "
        "zero-padded sample index), DIR/evidence.csv (key,class,evidence) and DIR/line.json; views by "
        "default, with --raw the oblique camera images and the rig that maps them, DIR/rig.json. With "
        "--chessboards DIR: the line's calibration board images, for `inspector calibrate`. "
        "The same seed gives the same bytes.\n\n"
        "--line picks the plant: a shipped variant by name (default, line-b) or a JSON file with the "
        "keys camera_tilt_deg, image_size, bowl_radius_mm, insert_radius_mm, steel_tint, "
        "insert_colour, light_level [low, high], strobe_tilt_deg [low, high], name, description (a key "
        "left out keeps the default line's value). A line whose cameras differ from the default's "
        "calibrates its own rig from its chessboard images (about a second).",
        epilog="examples: inspector simulate --line line-b --n 300 --seed 4242 --out b.h5\n"
        "          inspector simulate --line my-line.json --n 90 --images plant --raw",
    )
    p.add_argument("--n", type=positive_int, default=300, help="number of pairs (or board images per camera)")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--out", help="HDF5 file to write (refused if it exists, unless --overwrite)")
    out.add_argument("--images", metavar="DIR",
                     help="write class folders of PNG pairs to DIR (refused if not empty, unless --overwrite)")
    out.add_argument("--chessboards", metavar="DIR", help="write N calibration board images per camera to DIR")
    p.add_argument("--line", default="default", metavar="NAME|FILE.json",
                   help="the plant: a shipped line variant (default, line-b) or a JSON file of one")
    p.add_argument("--hidden-share", type=share, default=0.0,
                   help="share of samples whose decisive zone one camera cannot see (glare or fixture)")
    p.add_argument("--raw", action="store_true",
                   help="--out: also store the raw oblique camera images; --images: write them instead of the "
                   "views, with the rig as DIR/rig.json")
    p.add_argument("--tilt", type=float, default=None,
                   help="camera tilt off vertical in degrees, 0 to 60, instead of the line's (the default line's "
                   "is 30); a tilt other than the default's calibrates the line's own rig")
    p.add_argument("--rig", help="rig file to map the views with (default: the shipped rig, or the line's own)")
    add_overwrite(p, "replace an existing --out file or --images folder")
    add_quiet(p)
    p.set_defaults(func=cmd_simulate)


def add_calibrate(sub) -> None:
    p = add_command(
        sub, "calibrate", help="estimate a rig (camera image → cavity plane) from chessboard images",
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
    p.add_argument("--square-mm", type=positive_float, required=True, help="side of one board square in mm")
    p.add_argument("--out", required=True, help="rig file to write (JSON)")
    p.add_argument("--grid", type=grid_size, default=(128, 128), help="IPM output size WIDTHxHEIGHT in pixels")
    p.add_argument("--mm-per-px", type=positive_float, default=0.375, help="IPM output resolution on the plane")
    p.add_argument("--max-error", type=positive_float, default=1.0, help="largest accepted RMS reprojection error (px)")
    add_overwrite(p, "replace an existing rig file")
    p.set_defaults(func=cmd_calibrate)


COMMANDS = {"simulate": add_simulate, "calibrate": add_calibrate}
