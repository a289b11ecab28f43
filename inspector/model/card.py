"""Model cards: what a checkpoint says about where it came from and how well it did.

After "Model Cards for Model Reporting" (Mitchell, Wu, Zaldivar, Barnes,
Vasserman, Hutchinson, Spitzer, Raji, Gebru, 2019), cut to what a line needs to
decide whether to switch models. A checkpoint written by `inspector train` holds
its card in `meta["card"]`, a plain dict:

- `software`, `created` (UTC, ISO 8601)
- `data`: `file` (name), `sha256`, `pairs` (all), `pairs_per_class` {class: n}
- `classes` (logit order), `ok_class`, `architecture`, `input_size` [h, w]
- `validation`: `n`, `accuracy`, `per_class` {class: share}, `confusion` (rows: truth)
- `seed`, `train_config` (TrainConfig as a dict), `epochs_run`, `best_epoch`
- `parent`: `"none"` (trained from scratch) or {`file`, `sha256`, `classes`}
- `new_head`: whether the final layer was new (fine-tuned to other classes)
- `sanity`: the short form of Adebayo et al.'s model-randomisation check on its validation pairs
  (`inspector.evaluation.sanity.SanityResult.card`), written by `inspector train` or stamped later by
  `inspector study --sanity --record`

Checkpoints made before cards (the shipped default among them) carry some of this
in flat meta keys; `card_of` reads those, and what neither holds is `NOT_RECORDED`.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Optional

import numpy as np

from inspector.version import __version__

NOT_RECORDED = "not recorded"


def training_card(result, data, config, *, parent=None, new_head: bool = False, sanity=None) -> dict:
    """The card of a model `inspector.model.train.train` just made (`result`) from `data` with `config`;
    `parent` a `finetune.Parent` when it started from a checkpoint; `sanity` the sanity check's card
    entry, when one was run."""
    counts = np.bincount(data.labels, minlength=len(data.classes))
    report = result.report
    model_config = result.model.config
    return {
        "software": f"inspector {__version__}",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": {
            "file": Path(data.path).name,
            "sha256": data.sha256,
            "pairs": int(len(data.labels)),
            "pairs_per_class": {c: int(n) for c, n in zip(data.classes, counts)},
        },
        "classes": list(data.classes),
        "ok_class": data.ok_class,
        "architecture": model_config.arch,
        "input_size": list(model_config.input_size),
        "validation": {"n": report.n, "accuracy": report.accuracy, "per_class": dict(report.per_class),
                       "confusion": report.confusion},
        "seed": config.seed,
        "train_config": dict(config.__dict__),
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "parent": parent.to_dict() if parent is not None else "none",
        "new_head": bool(new_head),
        **({"sanity": sanity} if sanity is not None else {}),
    }


def card_of(meta: dict, config, sha256: str = "") -> dict:
    """The card of a checkpoint from its `meta` and architecture `config`: its own card where it has one,
    else what the flat keys of older checkpoints record; every field present, `NOT_RECORDED` where unknown.
    `sha256` (of the file) is added as `model_sha256`."""
    card = dict(meta.get("card") or {})
    # A card holding only a stamped sanity check (`study --sanity --record` on an older checkpoint)
    # still takes the rest from the flat keys.
    sanity = card.pop("sanity", NOT_RECORDED)
    if not card:
        val = meta.get("val_metrics") or {}
        card = {
            "software": meta.get("software", NOT_RECORDED),
            "created": meta.get("created", NOT_RECORDED),
            "data": {"file": meta.get("train_data", NOT_RECORDED), "sha256": meta.get("train_data_sha256", NOT_RECORDED),
                     "pairs": NOT_RECORDED, "pairs_per_class": NOT_RECORDED},
            "validation": {k: val[k] for k in ("n", "accuracy", "per_class", "confusion") if k in val} or NOT_RECORDED,
            "seed": meta.get("seed", NOT_RECORDED),
            "train_config": meta.get("train_config", NOT_RECORDED),
            "epochs_run": meta.get("epochs_run", NOT_RECORDED),
            "best_epoch": meta.get("best_epoch", NOT_RECORDED),
            "parent": NOT_RECORDED,
            "new_head": NOT_RECORDED,
        }
    # The architecture is always known: it is what the weights were loaded into.
    card.setdefault("classes", list(config.classes))
    card.setdefault("ok_class", config.ok_class)
    card.setdefault("architecture", config.arch)
    card.setdefault("input_size", list(config.input_size))
    for key in ("software", "created", "data", "validation", "seed", "train_config", "epochs_run", "best_epoch",
                "parent", "new_head"):
        card.setdefault(key, NOT_RECORDED)
    card["sanity"] = sanity
    card["model_sha256"] = sha256 or NOT_RECORDED
    return card


def model_card(model) -> dict:
    """The card of a loaded model (`load_model`)."""
    return card_of(getattr(model, "meta", {}) or {}, model.config, str(getattr(model, "sha256", "")))


def _pct(v) -> str:
    return f"{100 * float(v):.2f}%" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def card_rows(card: dict) -> list[tuple[str, str]]:
    """The card as (field, text) rows a person reads, in a fixed order; for the CLI and the GUI alike."""
    rows = [("model sha256", str(card["model_sha256"])), ("software", str(card["software"])),
            ("created", str(card["created"])), ("architecture", str(card["architecture"]))]
    size = card["input_size"]
    rows.append(("input size", f"{size[1]}×{size[0]}" if isinstance(size, list) and len(size) == 2 else str(size)))
    rows.append(("classes", ", ".join(card["classes"])))
    rows.append(("OK class", str(card["ok_class"])))
    data = card["data"] if isinstance(card["data"], dict) else {}
    rows.append(("training data", str(data.get("file", NOT_RECORDED))))
    rows.append(("data sha256", str(data.get("sha256", NOT_RECORDED))))
    per = data.get("pairs_per_class", NOT_RECORDED)
    if isinstance(per, dict):
        total = data.get("pairs", sum(per.values()))
        rows.append(("pairs per class", ", ".join(f"{c} {n}" for c, n in per.items()) + f" ({total} in all)"))
    else:
        rows.append(("pairs per class", str(per)))
    val = card["validation"]
    if isinstance(val, dict):
        rows.append(("validation", f"{val.get('n', '?')} pairs, accuracy {_pct(val.get('accuracy', NOT_RECORDED))}"))
        rows.append(("per class", ", ".join(f"{c} {_pct(a)}" for c, a in (val.get("per_class") or {}).items())
                     or NOT_RECORDED))
        conf = val.get("confusion")
        rows.append(("confusion", " / ".join(" ".join(str(v) for v in row) for row in conf)
                     + " (rows: truth)" if conf else NOT_RECORDED))
    else:
        rows.append(("validation", str(val)))
    rows.append(("seed", str(card["seed"])))
    tc = card["train_config"]
    rows.append(("train config", ", ".join(f"{k} {v}" for k, v in tc.items()) if isinstance(tc, dict) else str(tc)))
    rows.append(("epochs", f"{card['epochs_run']} run, best {card['best_epoch']}"
                 if card["epochs_run"] != NOT_RECORDED else NOT_RECORDED))
    parent = card["parent"]
    if isinstance(parent, dict):
        rows.append(("parent", f"{parent.get('file', '?')} (sha256 {parent.get('sha256', '?')}; classes "
                     f"{', '.join(parent.get('classes', []))})"))
    else:
        rows.append(("parent", "none (trained from scratch)" if parent == "none" else str(parent)))
    head = card["new_head"]
    rows.append(("new head", {True: "yes (final layer trained anew)", False: "no"}.get(head, str(head))
                 if isinstance(head, bool) else str(head)))
    rows.append(("sanity check", sanity_text(card.get("sanity", NOT_RECORDED))))
    return rows


def sanity_text(sanity) -> str:
    """The sanity check's card entry in one line (Adebayo et al.'s model randomisation)."""
    if not isinstance(sanity, dict):
        return str(sanity)
    try:
        rho = "/".join(f"{r:.2f}" for r in sanity["rho_random_per_stage"])
        sh = sanity["random_influence_share"]
        return (f"{'passes' if sanity['passes'] else 'FAILS'}: maps of the randomised model, rank correlation "
                f"with the trained ones stage 1–4 {rho} (stage 4 < {sanity['threshold_rho_stage4']:g}); its "
                f"influence camera 1 {100 * sh['camera 1']:.0f}% / camera 2 {100 * sh['camera 2']:.0f}% / equal "
                f"{100 * sh['equal']:.0f}%, sign test p {sanity['sign_test_p']:.2f} (≥ {sanity['alpha']:g}); "
                f"{sanity['pairs']} pairs, seed {sanity['seed']}")
    except (KeyError, TypeError, ValueError):  # a card from another version: show it rather than fail
        return str(sanity)


def format_card(card: dict, title: Optional[str] = None) -> str:
    rows = card_rows(card)
    width = max(len(k) for k, _ in rows)
    lines = [title] if title else []
    return "\n".join(lines + [f"{k:<{width}}  {v}" for k, v in rows])
