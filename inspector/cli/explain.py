"""`inspector explain` and `inspector study`: one pair explained, and the method studied over many (or explainers compared)."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector.cli.options import (
    add_command, add_device, add_fill, add_model, add_overwrite, add_quiet, positive_int, seed, share,
)
from inspector.errors import InspectorError
from inspector.fill_names import fill_option


def cmd_explain(args: argparse.Namespace) -> int:
    import json

    from calibration import Rig, load_default_rig
    from inspector.explain.explainers import start_explainer
    from inspector.explain.influence_interval import influence_text, interval_text, record_interval
    from inspector.images import read_image
    from inspector.number_text import MINUS, fixed
    from inspector.model.checkpoint import load_model

    if args.out:  # refused before the work, not after it
        from inspector.evaluation.figure import figure_format
        from inspector.files import check_output_file

        check_output_file(Path(args.out), overwrite=args.overwrite)
        figure_format(args.out)
    view1, view2 = read_image(args.view1), read_image(args.view2)
    rig = None
    if args.raw:
        rig = Rig.load(args.rig) if args.rig else load_default_rig()
        view1 = rig.warp("1", view1, what=f"{args.view1} (camera 1)")
        view2 = rig.warp("2", view2, what=f"{args.view2} (camera 2)")
    elif args.rig:
        raise InspectorError("--rig applies to raw camera images: add --raw")
    elif view1.shape != view2.shape:
        raise InspectorError(f"{args.view1} is {view1.shape[1]}×{view1.shape[0]} but {args.view2} is "
                             f"{view2.shape[1]}×{view2.shape[0]}: the views of a pair must match")
    model = load_model(args.model, args.device)
    e = start_explainer(args.explainer, model, **fill_option(args.fill)).explain(view1, view2, target=args.target_class)
    if args.out:
        from inspector.evaluation.figure import save_explanation_figure

        save_explanation_figure(args.out, view1, view2, e)
    if args.json:
        doc = {**e.to_dict(), "model_sha256": model.sha256, "rig_sha256": rig.sha256 if rig else None,
               "views": [str(args.view1), str(args.view2)]}
        print(json.dumps(doc, indent=2))
        return 0
    print("class probabilities: " + ", ".join(f"{c} {100 * p:.1f}%" for c, p in zip(e.classes, e.probs)))
    print(f"explaining: {e.target_name}" + (" (predicted)" if e.target == e.predicted else
                                           f" (predicted: {e.classes[e.predicted]})") + f" with {args.explainer}")
    low, high, _ = record_interval(e.curves)
    print(f"m = {fixed(e.m, 3, sign=True, minus=MINUS)}, 95% interval {interval_text(low, high)} (bootstrap over p) "
          f"→ influence: {influence_text(e.influence, low, high)}" + ("" if e.fill == "zero" else f"; fill {e.fill}"))
    for note in e.notes:
        print(f"note: {note}")
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inspector.evaluation.study import format_table, run_study, write_study
    from inspector.explain.explainers import start_explainer
    from inspector.model.checkpoint import load_model
    from inspector.plugins import PluginRegistry
    from inspector.synth.scene import require_simulated_classes

    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InspectorError(f"{args.out}: exists and is not a folder")
    if args.record and not args.sanity:
        raise InspectorError("--record: only with --sanity (it stamps the sanity check into the model card)")
    if args.sanity_pairs and not args.sanity:
        raise InspectorError("--sanity-pairs: only with --sanity")
    if args.sanity:
        from inspector.cli.sanity import cmd_sanity

        return cmd_sanity(args)
    if not args.out:
        raise InspectorError("--out: required (the folder for the figures and summary.json), except with --sanity")
    out = Path(args.out)
    registry = PluginRegistry.discover()
    if args.explainers:
        if args.fill != "zero":
            raise InspectorError("--fill applies to the study of one --explainer; --explainers compares them "
                                 "with the paper's zero fill")
        return _compare_explainers(args, out, registry)
    model = load_model(args.model, args.device)
    require_simulated_classes(model.classes, f"{args.model or 'the shipped model'}")
    per_class = args.per_class or 100
    explainer = start_explainer(args.explainer, model, registry=registry, **fill_option(args.fill))
    with tqdm(total=3 * per_class, unit="pair", desc=f"study ({args.explainer})", disable=args.quiet) as bar:
        result = run_study(model, per_class, seed=args.seed, hidden_share=args.hidden_share,
                           progress=lambda done: bar.update(done - bar.n), explainer=explainer)
    result.summary["fill"] = args.fill
    paths = write_study(result, out)
    print(format_table(result.summary))
    print(f"{result.summary['n']} pairs in {result.seconds:.0f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


def _compare_explainers(args: argparse.Namespace, out: Path, registry) -> int:
    from tqdm import tqdm

    from inspector.evaluation.compare import (
        DEFAULT_PER_CLASS, format_comparison, run_comparison, write_comparison,
    )
    from inspector.explain.explainers import parse_explainers
    from inspector.model.checkpoint import load_model
    from inspector.synth.scene import require_simulated_classes

    names = parse_explainers(args.explainers, registry)
    model = load_model(args.model, args.device)
    require_simulated_classes(model.classes, f"{args.model or 'the shipped model'}")
    per_class = args.per_class or DEFAULT_PER_CLASS
    with tqdm(total=3 * per_class * len(names), unit="pair", desc="compare", disable=args.quiet) as bar:
        finished: dict[str, int] = {}

        def progress(name: str, done: int, n: int) -> None:
            finished[name] = done
            bar.set_postfix_str(name)
            bar.update(sum(finished.values()) - bar.n)

        result = run_comparison(model, names, per_class, seed=args.seed, hidden_share=args.hidden_share,
                                registry=registry, progress=progress)
    paths = write_comparison(result, out)
    print(format_comparison(result))
    print(f"{len(result.labels)} pairs per explainer; * best of a row; wrote " + ", ".join(str(p) for p in paths))
    return 0


def add_explain(sub) -> None:
    p = add_command(
        sub, "explain", help="explain one pair: class probabilities, Grad-CAM per view and stage, curves, m, influence",
        description="Explain the model's decision on one pair of views with Tilgner et al.'s method: Grad-CAM of "
        "the target class at the four stages of each view's branch, occlusion masks from the "
        "stage-4 maps, the masked-input curves a1 (both views), a2 (camera 1 masked), a3 (camera 2 "
        "masked), m = mean(a2 − a3) and the camera the decision rests on (|m| < 0.02: equal). "
        "Prints probabilities, target, m with its 95% bootstrap-over-p interval and influence (\"unsure\" beside it "
        "when the interval crosses a boundary of the ±0.02 band); --out draws the figure of Tilgner et al.'s Fig. 4.",
    )
    p.add_argument("view1", help="camera 1's image (a view on the cavity plane, or raw with --raw)")
    p.add_argument("view2", help="camera 2's image")
    p.add_argument("--raw", action="store_true", help="the images are oblique camera images: apply IPM first")
    p.add_argument("--rig", help="rig for --raw (default: the shipped simulated-line rig)")
    p.add_argument("--class", dest="target_class", metavar="NAME",
                   help="class to explain (default: the predicted one)")
    add_model(p)
    add_device(p, "where to run")
    p.add_argument("--out", help="write the figure here (PNG, or the format its extension names; refused if it "
                   "exists, unless --overwrite)")
    add_overwrite(p, "replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print the explanation as JSON instead of text")
    p.add_argument("--explainer", default="gradcam",
                   help="explainer plugin whose maps are the prior of the masks (`inspector plugins` lists them)")
    add_fill(p)
    p.set_defaults(func=cmd_explain)


def add_study(sub) -> None:
    p = add_command(
        sub, "study", help="the paper's study on the simulated line: m, influence shares, curves per class",
        description="Explain N simulated pairs per class and report, per class, the distribution of m, the "
        "share of camera 1 / camera 2 / equal, mean curves with their spread and accuracy-vs-p "
        "against the true labels; the same shares on the pairs both cameras see; and, for the pairs that "
        "only one camera can see, how often the influence names that camera, per class, camera that sees "
        "and what hides the other (glare or a fixture) and overall, each as k/n with a 95% Wilson "
        "interval. Writes PNG figures and summary.json to --out and prints the tables. With --sanity: "
        "Adebayo et al.'s sanity check of the model instead (cascading randomisation of its blocks, the "
        "rank correlation of every stage's Grad-CAM maps with the trained model's, and m under the "
        "randomised model).",
    )
    p.add_argument("--per-class", type=positive_int,
                   help="pairs per class (default: 100; 20 with --explainers; 10 with --sanity)")
    p.add_argument("--seed", type=seed, default=2024, help="seed of the simulated pairs (not one used in training)")
    p.add_argument("--hidden-share", type=share, default=0.3,
                   help="share of pairs hidden from one camera by glare or a fixture")
    p.add_argument("--out", help="folder for the figures and summary.json (required, except with --sanity, where "
                   "it receives sanity.png and sanity.json if given)")
    add_model(p)
    add_device(p, "where to run")
    add_quiet(p)
    p.add_argument("--explainer", default="gradcam", help="explainer plugin whose maps are the prior of the masks")
    add_fill(p)
    p.add_argument("--explainers", metavar="NAME,NAME,...",
                   help="compare these explainers on the same pairs instead (e.g. gradcam,hirescam,gradcampp,"
                   "scorecam,rise): runtime, drop %%, increase %%, deletion and insertion AUC per camera and "
                   "coupled, Tilgner et al.'s curves and m, agreement with the ground truth; writes comparison.json, "
                   "comparison.md and figures")
    p.add_argument("--sanity", action="store_true",
                   help="check the model instead (Adebayo et al., 'Sanity Checks for Saliency Maps'): randomise "
                   "its head, fusion branch and stages 4 to 1 cumulatively (seeded by --seed), print the Spearman "
                   "rank correlation of every view's and stage's Grad-CAM maps with the trained model's after "
                   "each step, and m under the fully randomised model; it passes when the stage-4 maps fall "
                   "below 0.5 and the random m favours no camera (sign test p >= 0.05)")
    p.add_argument("--sanity-pairs", type=positive_int, metavar="N",
                   help="with --sanity: simulated pairs to check on (default: 3 × --per-class, 30)")
    p.add_argument("--record", action="store_true",
                   help="with --sanity: write the result into the checkpoint's model card (--model, or the "
                   "shipped default); the weights stay as they are, the file's sha256 changes; refused for a "
                   "read-only file")
    p.set_defaults(func=cmd_study)


COMMANDS = {"explain": add_explain, "study": add_study}
