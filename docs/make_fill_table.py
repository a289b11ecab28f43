"""Print the README's table of the fills: what `inspector study --per-class 50 --seed 31337 --hidden-share 1.0
--fill F` measures for each fill, with the agreement also per class (the study prints it per camera).

Run from the repository root: `python docs/make_fill_table.py [--device cuda]`. Every pair is hidden
from one camera, so agreement is how often the influence names the only camera that sees the cavity.
"""

import argparse

import numpy as np

import inspector
from inspector.evaluation.study import run_study
from inspector.explain import GradCAM
from inspector.explain.fills import FILLS
from inspector.explain.influence_interval import m_interval


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model = inspector.load_model(device=args.device)
    print(f"model {model.sha256[:12]}; 50 pairs per class, seed 31337, every pair hidden from one camera")
    print("| fill | agreement | correct | missing | skewed | accuracy | unsure | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for fill in FILLS:
        r = run_study(model, 50, seed=31337, hidden_share=1.0, explainer=GradCAM(model, device=args.device, fill=fill))
        infl = np.array([e.influence for e in r.explanations])
        hits = infl == r.evidence
        unsure = m_interval(np.stack([e.curves for e in r.explanations])).unsure
        cells = []
        for k, c in enumerate(r.classes):
            mine = r.labels == k
            cells.append(f"{100 * hits[mine].mean():.0f}% ({hits[mine].sum()}/{mine.sum()})")
        print(f"| {fill} | **{100 * hits.mean():.1f}%** | {' | '.join(cells)} | "
              f"{100 * r.summary['accuracy']:.1f}% | {100 * unsure.mean():.0f}% | {r.seconds:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
