"""`inspector cameras`: the GenICam cameras Aravis finds, and with `--features ID` what one of them is set to.

Contributed through the entry-point group `inspector.commands`. Aravis is imported
only when the command runs: `inspector` loads this module to build its parser for
every command, so a machine without Aravis still lists `cameras`, and running it
there says in one line what to install.
"""

from __future__ import annotations

import argparse
import json

from inspector.cli.contributions import Command
from inspector.errors import InspectorError

COLUMNS = ("id", "vendor", "model", "serial", "address", "protocol", "pixel_formats")


def _aravis():
    """plugins.genicam_devices, or InspectorError saying what to install."""
    try:
        from plugins import genicam_devices
    except ImportError as exc:
        raise InspectorError(f"cannot list cameras: {exc}") from None
    return genicam_devices


def cameras() -> list[dict]:
    """Every camera found, with the pixel formats it offers (as plain dicts, for a form or for JSON)."""
    devices = _aravis()
    rows = devices.list_devices()
    for row in rows:
        row["pixel_formats"] = []
        try:
            camera = devices.open_camera(row["id"])
            row["pixel_formats"] = devices.pixel_formats(camera)
            del camera
        except Exception as exc:  # one camera that cannot be opened (in use, gone) does not hide the others
            row["error"] = str(exc)
    return rows


def camera_features(spec: str) -> dict:
    """The main features of the camera named by serial, id or address."""
    devices = _aravis()
    from inspector.acquisition import SourceError

    try:
        device = devices.find_device(spec)
        camera = devices.open_camera(device["id"])
    except SourceError as exc:
        raise InspectorError(str(exc)) from None
    return {**device, **devices.features(camera)}


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def run(args: argparse.Namespace) -> int:
    if args.features:
        info = camera_features(args.features)
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            width = max(map(len, info))
            for key, value in info.items():
                print(f"{key:<{width}}  {_text(value)}")
        return 0
    rows = cameras()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no GenICam camera found")
        return 0
    table = [COLUMNS] + [tuple(_text(r.get(c, "")) for c in COLUMNS) for r in rows]
    widths = [max(len(row[k]) for row in table) for k in range(len(COLUMNS))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for r in rows:
        if r.get("error"):
            print(f"{r['id']}: {r['error']}")
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--features", metavar="ID", default="",
                   help="show the main features of this camera (serial, device id or address)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


CAMERAS = Command(
    help="list the GenICam cameras (GigE Vision, USB3 Vision) Aravis finds",
    description="List the GenICam cameras Aravis finds: vendor, model, serial, address (IP, or the USB id), "
    "protocol and pixel formats. With --features ID, show one camera's width, height, pixel format, "
    "exposure, gain, frame rate, trigger mode and source, and packet size. Their serials or addresses "
    "go into `--source genicam --source-opt cam1=… --source-opt cam2=…`.",
    add_arguments=_arguments,
    run=run,
)
