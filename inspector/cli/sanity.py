"""`inspector study --sanity`: Adebayo et al.'s model-randomisation check of a model's explanations,
printed, written as figures and JSON, and on request stamped into the checkpoint's model card."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inspector.errors import InspectorError

DEFAULT_PER_CLASS = 10


def cmd_sanity(args: argparse.Namespace) -> int:
    import numpy as np

    from inspector.evaluation.sanity import format_sanity, sanity_check
    from inspector.model.checkpoint import DEFAULT_MODEL_PATH, check_writable, load_model, rewrite_meta
    from inspector.synth.line import SimulatedLine
    from inspector.synth.scene import require_simulated_classes

    if args.explainers:
        raise InspectorError("--sanity: not with --explainers (the check is of Grad-CAM, the method's maps)")
    if args.explainer != "gradcam":
        raise InspectorError(f"--explainer {args.explainer}: not with --sanity (the check is of Grad-CAM, the "
                             "method's maps)")
    path = Path(args.model) if args.model else DEFAULT_MODEL_PATH
    model = load_model(args.model, args.device)  # refuses what is not a checkpoint, before any work
    if args.record:
        check_writable(path)
    require_simulated_classes(model.classes, f"{args.model or 'the shipped model'}")
    n = args.sanity_pairs or 3 * (args.per_class or DEFAULT_PER_CLASS)
    samples = list(SimulatedLine().samples(n, seed=args.seed, hidden_share=args.hidden_share))
    views1, views2 = np.stack([s.view1 for s in samples]), np.stack([s.view2 for s in samples])
    done = []

    def progress(step: str) -> None:
        done.append(step)
        if not args.quiet:
            print(f"randomised up to {step} ({len(done)} of 6)", flush=True)

    result = sanity_check(model, views1, views2, seed=args.seed, progress=progress)
    print(f"sanity check of {args.model or 'the shipped model'} (sha256 {model.sha256[:12]}) on {n} simulated "
          f"pairs (seed {args.seed}, hidden share {args.hidden_share:g})")
    print(format_sanity(result))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = write_sanity(result, out)
        print("wrote " + ", ".join(str(p) for p in written))
    if args.record:
        card = result.card()

        def stamp(meta: dict) -> dict:
            meta["card"] = {**(meta.get("card") or {}), "sanity": card}
            return meta

        sha = rewrite_meta(path, stamp)
        print(f"recorded in {path}'s model card (weights unchanged; the file's sha256 is now {sha[:12]})")
    return 0


def write_sanity(result, out: Path) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from inspector.evaluation.sanity import sanity_figure

    fig = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    sanity_figure(fig, result)
    fig.tight_layout()
    paths = [out / "sanity.png", out / "sanity.json"]
    fig.savefig(paths[0])
    paths[1].write_text(json.dumps(result.to_dict(), indent=2))
    return paths
