"""Model checkpoints: one file with the weights, the architecture and where the model came from.

Files load with `torch.load(weights_only=True)`, which refuses any pickle that
would run code; every refusal becomes a `ModelError` that names the file.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from inspector.devices import resolve_device
from inspector.errors import InspectorError
from inspector.files import read_input_bytes
from inspector.model.mvfn import ArchConfig, build_model

FORMAT = "inspector-model"
FORMAT_VERSION = 1
DEFAULT_MODEL_PATH = Path(__file__).with_name("default.pt")


class ModelError(InspectorError):
    """A model file that cannot be loaded: missing, unsafe, not a checkpoint, or of another shape."""


def plain(value: Any) -> Any:
    """`value` as plain Python data (what a weights-only load accepts): numpy scalars become numbers,
    tuples lists, keys strings; anything else is a bug in the caller."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"checkpoint metadata must be plain data, got {type(value).__name__}")


def save_checkpoint(model: nn.Module, path: str | Path, meta: dict[str, Any]) -> str:
    """Write `model` with its architecture and `meta` (plain values only); returns the file's sha256.

    The file is read back weights-only before it replaces `path`: a checkpoint that
    its own loader would refuse is never written.
    """
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": plain(meta),
    }
    return _write_document(doc, Path(path))


def _write_document(doc: dict, path: Path) -> str:
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(doc, tmp)
        torch.load(tmp, map_location="cpu", weights_only=True)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_meta(path: str | Path, update: Callable[[dict], dict]) -> str:
    """Replace the `meta` of the checkpoint at `path` by `update(meta)`, weights and architecture as
    they are (the same tensors saved again); returns the file's new sha256. Refused (`ModelError`)
    when the file is not a checkpoint or not writable: a read-only file is one its owner meant to keep."""
    path = Path(path)
    check_writable(path)
    doc, _ = read_checkpoint(path)
    doc["meta"] = plain(update(dict(doc.get("meta", {}))))
    return _write_document(doc, path)


def check_writable(path: str | Path) -> None:
    """Refuse a checkpoint that may not be rewritten: missing, read-only (no write bit, which also holds
    for root), or in a folder where the replacement cannot be made."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such checkpoint file")
    if not path.stat().st_mode & 0o222 or not os.access(path, os.W_OK):
        raise ModelError(f"{path}: read-only; not rewritten")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ModelError(f"{path}: its folder is not writable; not rewritten")


def read_checkpoint(path: str | Path) -> tuple[dict, str]:
    """The checkpoint's document and the sha256 of its bytes, after every safety check."""
    path = Path(path)
    sha = hashlib.sha256(read_input_bytes(path, "model", ModelError)).hexdigest()
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc) or "GLOBAL" in str(exc):
            raise ModelError(
                f"{path}: refused: the file holds Python objects that would run code when loaded, "
                "which a model checkpoint never needs"
            ) from None
        raise ModelError(f"{path}: not a PyTorch checkpoint (its pickle is not one of plain weights)") from None
    # A file of other bytes (text, say) can throw almost anything out of the unpickler (IndexError on a
    # text file): each is "not a checkpoint", none a bug here.
    except (RuntimeError, EOFError, ValueError, OSError, IndexError, KeyError, TypeError, AttributeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path}: not a PyTorch checkpoint ({first})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"{path}: a PyTorch file, but not an inspector model checkpoint")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: checkpoint version {doc.get('format_version')!r} is unknown; "
            f"this inspector reads version {FORMAT_VERSION}"
        )
    return doc, sha


def load_model(path: str | Path | None = None, device: Optional[str | torch.device] = None) -> nn.Module:
    """The model in eval mode on `device` (auto: CUDA when present); no path loads the shipped default.

    The model carries `classes` (logit order), `config`, `meta` and `sha256` (of the file).
    """
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    if path == DEFAULT_MODEL_PATH and not path.exists():
        raise ModelError(f"{path}: the shipped default model is missing; train one (see README)")
    doc, sha = read_checkpoint(path)
    try:
        config = ArchConfig.from_dict(dict(doc["config"]))
        model = build_model(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: checkpoint of an unknown architecture ({exc})") from None
    state = doc.get("state_dict")
    if not isinstance(state, dict):
        raise ModelError(f"{path}: checkpoint has no weights")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ModelError(
            f"{path}: the weights do not fit the {config.arch} architecture it declares ({detail[:300]})"
        ) from None
    model.meta = dict(doc.get("meta", {}))
    model.sha256 = sha
    model.eval()
    return model.to(resolve_device(device))
