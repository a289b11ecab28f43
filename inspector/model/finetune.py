"""Fine-tuning: training that starts from a checkpoint instead of from random weights.

A model for another line (another tilt, lighting, insert) rarely needs to learn
the cavity from scratch: the branches' features carry over, and a few hundred
pairs of the new line adapt them. Starting from a checkpoint keeps its
architecture, input size and normalisation (its weights were learned on inputs
normalised that way), and either every weight (same classes, in the same order)
or every weight but the final linear layer (`new_head`: another set of classes;
the new layer is initialised from the training seed). Transfer of this kind is
the usual practice since "How transferable are features in deep neural
networks?" (Yosinski, Clune, Bengio, Lipson, 2014).

Every check here runs before any training, so a refusal writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from torch import nn

from inspector.errors import InspectorError
from inspector.model.mvfn import build_model

# A fine-tune moves weights that already fit; the from-scratch peak rate (3e-3) undoes too much of
# them in the first epochs. Measured on 300 pairs of a 60° line with hidden zones, see README "Fine-tuning".
FINETUNE_LR = 1e-3


@dataclass(frozen=True)
class Parent:
    """Where a fine-tuned model started: the checkpoint's file name, sha256 and classes."""

    file: str
    sha256: str
    classes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"file": self.file, "sha256": self.sha256, "classes": list(self.classes)}


def parent_of(model: nn.Module, path: Optional[str | Path]) -> Parent:
    """The `Parent` record of a loaded checkpoint (`path` None: the shipped default)."""
    from inspector.model.checkpoint import DEFAULT_MODEL_PATH

    return Parent(Path(path or DEFAULT_MODEL_PATH).name, str(model.sha256), tuple(model.classes))


def head_prefix(model: nn.Module) -> str:
    """The state-dict prefix of the final linear layer: the MVFN's sits in its fusion branch."""
    return "fusion.head." if hasattr(model, "fusion") else "head."


def _size(hw) -> str:
    return f"{hw[1]}×{hw[0]}"


def check_init(init: nn.Module, data, new_head: bool, *, arch: Optional[str] = None, where: str = "--init") -> None:
    """Refuse a start that cannot work, naming both sides: another architecture than asked for, views of
    another size than the checkpoint takes, other classes without `new_head`."""
    config = init.config
    if arch is not None and arch != config.arch:
        raise InspectorError(f"{where}: the checkpoint is a {config.arch} model, not the {arch} asked for with --arch")
    h, w = data.view1.shape[1:3]
    if (h, w) != tuple(config.input_size):
        raise InspectorError(f"{data.path}: views are {_size((h, w))} but the {where} model takes "
                             f"{_size(config.input_size)}; fine-tuning needs views of the model's input size")
    if tuple(data.classes) != tuple(config.classes) and not new_head:
        raise InspectorError(
            f"{data.path}: classes ({', '.join(data.classes)}) differ from the {where} model's "
            f"({', '.join(config.classes)}); pass --new-head to train a new final layer for the data's classes"
        )


def start_model(init: nn.Module, data, new_head: bool) -> nn.Module:
    """A model of `init`'s architecture, input size and normalisation for `data`'s classes, holding all of
    `init`'s weights (with `new_head`, all but the final layer's, which keep the fresh initialisation
    `build_model` drew from the global torch seed)."""
    config = replace(init.config, classes=tuple(data.classes), ok_class=data.ok_class)
    model = build_model(config)
    state = init.state_dict()
    if new_head:
        prefix = head_prefix(model)
        state = {k: v for k, v in state.items() if not k.startswith(prefix)}
        state.update({k: v for k, v in model.state_dict().items() if k.startswith(prefix)})
    model.load_state_dict(state, strict=True)
    return model
