"""`inspector bench`: the benchmarks of `inspector.bench`, the one command that imports them."""

from __future__ import annotations

import argparse

from inspector.cli.options import add_command, add_device
from inspector.errors import InspectorError


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


def add_bench(sub) -> None:
    p = add_command(
        sub, "bench", help="measure speed figures side by side in one run and print them as a table",
        description="Measure the figures the README reports, each section in the same run: simulator "
        "throughput on one core (rendering both cameras and IPM); the explanation engine per pair "
        "(prediction, eight maps, curves, whole) beside a naive captum baseline and beside the "
        "floor (the method's FLOPs over this device's matrix-product rate); the inspection log's "
        "append rate with a reader following, bytes per record, and the compression and fsync "
        "alternatives; the live pipeline beside the bare model; a soak of 2,000 inspections (memory, "
        "hooks, threads); the audit on 1 and 2 Dask workers; two fake GigE Vision cameras through the "
        "pipeline beside the simulator (needs Aravis and root for a second loopback address); the "
        "operator view's event-loop latency while inspecting at full speed; the OPC UA line server's latency from a result to a client's notification and the pipeline's pairs/s without it, with it, and with a client that never reads (needs the opcua extra). Nothing is asserted; "
        "compare with the targets in the README.",
    )
    p.add_argument("--only", help="comma-separated sections to run (default: all); sections: simulator, explain, "
                   "records, pipeline, soak, audit, genicam, gui, opcua")
    add_device(p, "device of the model sections (explain); the simulator always runs on the CPU")
    p.set_defaults(func=cmd_bench)


COMMANDS = {"bench": add_bench}
