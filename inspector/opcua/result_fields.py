"""One inspection as the address space carries it: the fields of `LastResult` and of each
`ResultReadyEventType` event, in the order of the issue's address space."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Optional

from inspector.records import Inspection

# Field name → OPC UA built-in type name (asyncua's `ua.VariantType` member).
FIELDS = {
    "ResultId": "String",
    "CavityId": "Int32",
    "Class": "String",
    "Ok": "Boolean",
    "Probability": "Double",
    "M": "Double",
    "Influence": "String",
    "CreationTime": "DateTime",
    "IsSimulated": "Boolean",
    "ProcessingTimeMs": "Double",
    "ModelId": "String",
    "RigId": "String",
}
ID_LENGTH = 12  # the sha256 prefixes ModelId and RigId carry, as the status line prints them


def result_id(log_path: Optional[Path], index: int, run_start: str) -> str:
    """Unique and stable: `line.h5#12` names the record a controller's reject goes with; without a
    log, the run's start (UTC) and the sequence number in the run."""
    return f"{Path(log_path).name}#{index}" if log_path is not None else f"{run_start}#{index}"


def result_fields(rec: Inspection, rid: str, classes: tuple[str, ...], ok_class: str, *, model_id: str = "",
                  rig_id: str = "") -> dict:
    name = classes[rec.predicted]
    return {
        "ResultId": rid,
        "CavityId": int(rec.cavity_id),
        "Class": name,
        "Ok": name == ok_class,
        "Probability": float(rec.probs[rec.predicted]),
        "M": float(rec.m),
        "Influence": rec.influence,
        "CreationTime": _dt.datetime.fromtimestamp(rec.timestamp, _dt.timezone.utc),
        "IsSimulated": bool(rec.simulated),
        # From the pair's delivery to the end of its explanation: what the line waits for.
        "ProcessingTimeMs": 1e3 * sum(v for k, v in rec.timings.items() if k != "write"),
        "ModelId": model_id[:ID_LENGTH],
        "RigId": rig_id[:ID_LENGTH],
    }
