"""Regenerate docs/explain_example.png from the simulated line and the shipped model.

    python docs/make_explain_example.py
"""

from pathlib import Path

import inspector
from inspector.explain import explain_pair
from inspector.evaluation.figure import save_explanation_figure
from inspector.synth import generate

sample = generate(3, seed=77, hidden_share=0.5)[2]  # a skewed insert that only camera 2 sees
explanation = explain_pair(inspector.load_model(), sample.view1, sample.view2)
out = Path(__file__).with_name("explain_example.png")
save_explanation_figure(out, sample.view1, sample.view2, explanation)
print(f"{sample.label} ({sample.evidence}): m = {explanation.m:+.3f} → {explanation.influence}; wrote {out}")
