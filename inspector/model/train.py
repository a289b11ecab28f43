"""Training a model on a simulated (or any) dataset of view pairs.

Augmentation follows the physics of the line. What moves the cavity moves it
in both views alike: a shift on the plane, a mirror along y (the cameras sit on
the x axis, so that mirror keeps them where they are), and a mirror along x
with the views swapped (the mirrored scene seen by the mirrored cameras). What
belongs to one camera is drawn for each view on its own: gain, offset, noise.
By default a share of the pairs also has one view occluded by the explainer's
own mask, with a target that says what is still visible
(`inspector.model.occlusion_training`), so that occlusion means absence.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inspector.version import __version__
from inspector.devices import resolve_device
from inspector.dataset.store import Dataset
from inspector.errors import DatasetError, InspectorError
from inspector.model.card import training_card
from inspector.model.checkpoint import save_checkpoint
from inspector.model.finetune import check_init, start_model
from inspector.model.evaluate import Report, accuracy_report, predict, to_tensor
from inspector.model.mvfn import ArchConfig, build_model
from inspector.model import occlusion_training as occ


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 14
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_split: float = 0.15
    patience: int = 4  # epochs without a better validation loss before stopping
    seed: int = 0
    device: str = "auto"
    max_shift_px: int = 4
    # The occlusion recipe (inspector.model.occlusion_training): mode, share of pairs with one view
    # occluded, epochs between recomputing the masks' Grad-CAM maps with the model being trained.
    occlusion: str = "evidence"
    occlusion_share: float = 0.5
    occlusion_every: int = 2


@dataclass
class TrainResult:
    model: nn.Module
    report: Report  # on the validation split
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False
    best_epoch: int = 0


def min_per_class(val_split: float) -> int:
    """The fewest pairs a class needs for `stratified_split` to hold at least one of them out for
    validation and keep at least one for training."""
    n = max(2, int(0.5 / val_split), int(0.5 / (1.0 - val_split)))  # below these, rounding gives 0
    while not 1 <= int(round(n * val_split)) <= n - 1:
        n += 1
    return n


def check_split(data: Dataset, val_split: float) -> None:
    """Refuse a dataset whose split would leave a class without validation or training pairs: the
    validation metrics would be NaN and the best epoch chosen on nothing."""
    if not 0.0 < val_split < 1.0:
        raise InspectorError(f"--val-split must be within (0, 1), got {val_split}")
    need = min_per_class(val_split)
    counts = np.bincount(data.labels, minlength=len(data.classes))
    if counts.min() < need:
        have = ", ".join(f"{c} {k}" for c, k in zip(data.classes, counts))
        raise DatasetError(f"{data.path}: too few pairs to train with --val-split {val_split:g}: each class needs "
                           f"at least {need} (one or more for validation, the rest for training); it has {have}")


def check_occlusion(config: TrainConfig) -> None:
    if config.occlusion not in occ.OCCLUSION_MODES:
        raise InspectorError(f"--occlusion must be one of {', '.join(occ.OCCLUSION_MODES)}, got {config.occlusion!r}")
    if not 0.0 <= config.occlusion_share <= 1.0:
        raise InspectorError(f"--occlusion-share must be within [0, 1], got {config.occlusion_share}")
    if config.occlusion_every < 1:
        raise InspectorError(f"--occlusion-every must be at least 1, got {config.occlusion_every}")


def stratified_split(labels: np.ndarray, val_split: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, val = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_val = int(round(len(idx) * val_split))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse class frequency, mean 1: a rare class (often `skewed` on a real line) is not drowned out."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 0.0)
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


def augment_pose(x1: torch.Tensor, x2: torch.Tensor, rng: np.random.Generator, max_shift: int):
    """What moves the cavity, applied to both views of a pair alike (B, 3, H, W)."""
    B = x1.shape[0]
    if max_shift > 0:
        pad = (max_shift,) * 4
        p1, p2 = F.pad(x1, pad, mode="replicate"), F.pad(x2, pad, mode="replicate")
        H, W = x1.shape[2:]
        shifts = rng.integers(0, 2 * max_shift + 1, size=(B, 2))
        x1 = torch.stack([p1[i, :, dy : dy + H, dx : dx + W] for i, (dy, dx) in enumerate(shifts)])
        x2 = torch.stack([p2[i, :, dy : dy + H, dx : dx + W] for i, (dy, dx) in enumerate(shifts)])
    flip_y = torch.from_numpy(rng.uniform(size=B) < 0.5)[:, None, None, None]
    x1, x2 = torch.where(flip_y, x1.flip(2), x1), torch.where(flip_y, x2.flip(2), x2)
    swap = torch.from_numpy(rng.uniform(size=B) < 0.5)[:, None, None, None]
    return torch.where(swap, x2.flip(3), x1), torch.where(swap, x1.flip(3), x2)


def augment_camera(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """What belongs to one camera (gain, offset, sensor noise), drawn per view."""
    B = x.shape[0]
    gain = torch.from_numpy(rng.uniform(0.85, 1.15, size=(B, 1, 1, 1)).astype(np.float32))
    offset = torch.from_numpy(rng.uniform(-0.03, 0.03, size=(B, 1, 1, 1)).astype(np.float32))
    sigma = torch.from_numpy(rng.uniform(0.0, 0.015, size=(B, 1, 1, 1)).astype(np.float32))
    noise = torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
    return (x * gain + offset + sigma * noise).clamp_(0.0, 1.0)


def augment(x1: torch.Tensor, x2: torch.Tensor, rng: np.random.Generator, max_shift: int):
    """Physically consistent augmentation of a batch of view pairs (B, 3, H, W) in [0, 1]."""
    x1, x2 = augment_pose(x1, x2, rng, max_shift)
    return augment_camera(x1, rng), augment_camera(x2, rng)


def occluded_batch(x1, x2, labels, pos, state, config: TrainConfig, n_classes: int, rng):
    """The recipe's batch: one view of a share of the pairs occluded by the method's own mask, the masks
    moved with the pose and applied after the camera augmentation (raw pixels set to 0, as the method
    masks); soft targets where the occluded view was the only one showing the evidence."""
    d = occ.draw(len(labels), config.occlusion_share, rng)
    d.occluded &= state.known[pos]
    m1, m2 = occ.view_masks(state, pos, d, tuple(x1.shape[2:]))
    a1, a2 = augment_pose(torch.cat([x1, m1], 1), torch.cat([x2, m2], 1), rng, config.max_shift_px)
    x1, x2 = augment_camera(a1[:, :3], rng) * a1[:, 3:], augment_camera(a2[:, :3], rng) * a2[:, 3:]
    soft = d.occluded if config.occlusion == "evidence" else np.zeros_like(d.occluded)
    targets = occ.soft_targets(labels, n_classes, d.view, d.p, soft, state.only[pos])
    return x1, x2, torch.from_numpy(targets)


def channel_stats(views: list[np.ndarray], sample: int = 512) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the training views (on a subsample: they are stable)."""
    px = np.concatenate([v[:sample].reshape(-1, 3) for v in views]).astype(np.float64) / 255.0
    return tuple(float(v) for v in px.mean(0)), tuple(float(max(v, 1e-3)) for v in px.std(0))


def _evaluate_loss(model, v1, v2, labels, weights, batch, device) -> tuple[float, np.ndarray]:
    model.eval()
    losses, preds = [], []
    with torch.inference_mode():
        for i in range(0, len(labels), batch):
            logits = model(to_tensor(v1[i : i + batch], device), to_tensor(v2[i : i + batch], device))
            y = torch.from_numpy(labels[i : i + batch]).to(device)
            losses.append(F.cross_entropy(logits, y, weight=weights, reduction="sum").item())
            preds.append(logits.argmax(1).cpu().numpy())
    return sum(losses) / max(len(labels), 1), np.concatenate(preds) if preds else np.zeros(0, int)


def train(
    data: Dataset,
    arch: ArchConfig = ArchConfig(),
    config: TrainConfig = TrainConfig(),
    *,
    on_epoch: Optional[Callable[[dict], None]] = None,
    progress: Optional[Callable[..., object]] = None,
    init: Optional[nn.Module] = None,
    new_head: bool = False,
) -> TrainResult:
    """Train `arch` on `data`; returns the best model (lowest validation loss) and its validation report.

    With `init` (a loaded checkpoint) it fine-tunes instead: `arch` is ignored, the model starts from
    `init`'s weights and normalisation (all but the final layer with `new_head`; see
    `inspector.model.finetune`). Deterministic for a seed on the CPU. `progress(iterable, **kw)` may wrap
    the batch loop (tqdm).
    """
    check_split(data, config.val_split)
    check_occlusion(config)
    if init is not None:
        check_init(init, data, new_head)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_idx, val_idx = stratified_split(data.labels, config.val_split, rng)
    h, w = data.view1.shape[1:3]
    if init is None:
        mean, std = channel_stats([data.view1[train_idx], data.view2[train_idx]])
        arch = replace(arch, classes=data.classes, ok_class=data.ok_class, input_size=(h, w), mean=mean, std=std)
        model = build_model(arch).to(device)
    else:
        model = start_model(init, data, new_head).to(device)
    if config.occlusion != "none" and model.config.arch != "mvfn":
        raise InspectorError(f"--occlusion {config.occlusion}: only for the MVFN (a {model.config.arch} model "
                             "has one camera to occlude); use --occlusion none")
    weights = class_weights(data.labels[train_idx], len(data.classes)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * int(np.ceil(len(train_idx) / config.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=max(steps, 1), pct_start=0.15)
    v1_val, v2_val, y_val = data.view1[val_idx], data.view2[val_idx], data.labels[val_idx]
    best = (float("inf"), None, -1)
    history, stale, t0 = [], 0, time.perf_counter()
    state = None
    for epoch in range(config.epochs):
        if config.occlusion != "none" and epoch % config.occlusion_every == 0:
            state = occ.compute_state(model, data.view1, data.view2, data.labels, data.evidence, train_idx, device)
        model.train()
        order = rng.permutation(train_idx)
        batches = [order[i : i + config.batch] for i in range(0, len(order), config.batch)]
        it = progress(batches, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch") if progress else batches
        seen = correct = 0
        total_loss = 0.0
        for idx in it:
            idx = np.sort(idx)
            x1 = to_tensor(data.view1[idx], torch.device("cpu"))
            x2 = to_tensor(data.view2[idx], torch.device("cpu"))
            y = torch.from_numpy(data.labels[idx]).to(device)
            if state is None:
                x1, x2 = augment(x1, x2, rng, config.max_shift_px)
                logits = model(x1.to(device), x2.to(device))
                loss = F.cross_entropy(logits, y, weight=weights)
            else:
                x1, x2, targets = occluded_batch(x1, x2, data.labels[idx], np.searchsorted(train_idx, idx), state,
                                                 config, len(data.classes), rng)
                logits = model(x1.to(device), x2.to(device))
                loss = occ.weighted_soft_ce(logits, targets.to(device), weights[y])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
            correct += int((logits.argmax(1) == y).sum())
            total_loss += loss.item() * len(idx)
            if hasattr(it, "set_postfix"):
                it.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
        val_loss, val_pred = _evaluate_loss(model, v1_val, v2_val, y_val, weights, 256, device)
        row = {
            "epoch": epoch + 1,
            "train_loss": total_loss / max(seen, 1),
            "train_acc": correct / max(seen, 1),
            "val_loss": val_loss,
            "val_acc": float((val_pred == y_val).mean()),
        }
        history.append(row)
        if on_epoch:
            on_epoch(row)
        if val_loss < best[0] - 1e-6:
            best = (val_loss, {k: v.detach().clone() for k, v in model.state_dict().items()}, epoch + 1)
            stale = 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best[1])
    model.eval()
    probs = predict(model, v1_val, v2_val, device=device)
    ev = data.evidence[val_idx] if data.evidence is not None else None
    report = accuracy_report(y_val, probs.argmax(1), data.classes, ev)
    return TrainResult(
        model, report, history, time.perf_counter() - t0, stopped_early=len(history) < config.epochs, best_epoch=best[2]
    )


def checkpoint_meta(result: TrainResult, data: Dataset, config: TrainConfig, *, parent=None,
                    new_head: bool = False, sanity: Optional[dict] = None) -> dict:
    """The flat keys every checkpoint has had, and the model card (`inspector.model.card`) under "card";
    `parent` the `finetune.Parent` a fine-tuned model started from."""
    return {
        "card": training_card(result, data, config, parent=parent, new_head=new_head, sanity=sanity),
        "software": f"inspector {__version__}",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "train_data": Path(data.path).name,
        "train_data_sha256": data.sha256,
        "seed": config.seed,
        "train_config": {k: v for k, v in config.__dict__.items()},
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "train_seconds": round(result.seconds, 1),
        "val_metrics": result.report.to_dict(),
        "history": result.history,
    }


def save_trained(result: TrainResult, data: Dataset, config: TrainConfig, out: str | Path, *, parent=None,
                 new_head: bool = False, sanity: Optional[dict] = None) -> str:
    return save_checkpoint(result.model, out, checkpoint_meta(result, data, config, parent=parent, new_head=new_head,
                                                              sanity=sanity))
