"""Choosing an explainer: the comparison study, and --explainer on explain, study, run and audit."""

import json

import numpy as np
import pytest

import inspector
from calibration import load_default_rig
from inspector.audit import audit
from inspector.cli import main
from inspector.evaluation.compare import format_comparison, markdown_comparison, run_comparison, write_comparison
from inspector.explain import HiResCAM, RISE
from inspector.pipeline import Pipeline, PipelineConfig
from inspector.records import RecordReader
from plugins.simulator_source import SimulatorSource


def test_comparison_table_json_and_figures(model, tmp_path, line):
    done = []
    c = run_comparison(model, ["gradcam", "hirescam", "gradcam-fused"], 2, seed=3, hidden_share=0.5, line=line,
                       progress=lambda name, k, n: done.append((name, k, n)))
    assert [r.name for r in c.runs] == ["gradcam", "hirescam", "gradcam-fused"]
    assert done[-1] == ("gradcam-fused", 6, 6)
    for r in c.runs:
        assert len(r.explanations) == 6 and all(e.explainer == r.name for e in r.explanations)
        assert r.maps_s > 0 and r.curves_s > 0 and r.faithfulness.kept.shape == (6, 3)
    # The same pairs under every explainer: the same predictions.
    np.testing.assert_allclose([e.probs for e in c.runs[0].explanations], [e.probs for e in c.runs[1].explanations],
                               atol=1e-5)
    text = format_comparison(c)
    md = markdown_comparison(c)
    for row in ("runtime: maps, ms/pair", "drop % (camera 1)", "increase % (both)", "deletion AUC (camera 2)",
                "insertion AUC (both)", "Tilgner et al. mean a2", "influence = ground truth"):
        assert row in text and row in md
    assert md.splitlines()[0] == "| metric | gradcam | hirescam | gradcam-fused |"
    paths = write_comparison(c, tmp_path / "cmp")
    names = {p.name for p in paths}
    assert {"comparison.json", "comparison.md", "deletion_insertion.png"} <= names
    assert sum(n.startswith("pair_") for n in names) == 3
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert doc["explainers"] == ["gradcam", "hirescam", "gradcam-fused"]
    drop = next(r for r in doc["table"] if r["metric"] == "drop % (both)")
    assert drop["values"]["hirescam"] == pytest.approx(c.runs[1].faithfulness.drop()[2])
    assert set(doc["per_explainer"]["gradcam"]) == {"seconds", "faithfulness", "study"}


def test_study_command_compares_and_runs_with_one_explainer(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["study", "--explainers", "gradcam,xgradcam", "--per-class", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "xgradcam" in printed and "drop % (camera 1)" in printed
    assert (out / "comparison.md").read_text().startswith("| metric | gradcam | xgradcam |")
    assert main(["study", "--explainer", "layercam", "--per-class", "1", "--out", str(tmp_path / "s"), "--quiet"]) == 0
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["explainer"] == "layercam"
    assert main(["study", "--explainers", "gradcam,nope", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "unknown nope" in capsys.readouterr().err


def test_explain_command_takes_an_explainer(tmp_path, capsys, line):
    from inspector.images import write_image
    from inspector.synth import generate

    s = generate(1, seed=2, line=line)[0]
    write_image(tmp_path / "a.png", s.view1)
    write_image(tmp_path / "b.png", s.view2)
    assert main(["explain", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--explainer", "gradcampp",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["explainer"] == "gradcampp"
    assert main(["explain", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--explainer", "nope"]) == 2
    assert "no explainer plugin named 'nope'" in capsys.readouterr().err


def test_pipeline_logs_rise_and_the_audit_reruns_with_another_explainer(model, tmp_path):
    log = tmp_path / "line.h5"
    Pipeline(SimulatorSource(rate=0, prerender=4, seed=1, hidden_share=0.3, cavities=2), model,
             rig=load_default_rig(), out=log, explainer=RISE(model, masks=16),
             config=PipelineConfig(max_records=4, keep_all=True, curves="all")).run()
    with RecordReader(log) as r:
        assert r.layout.stage_shapes == ((128, 128),) * 4  # RISE's one map stands at every stage
        rec = r[0]
        views = [(r[i].view1, r[i].view2) for i in range(len(r))]
    assert np.isfinite(rec.m)
    result = audit([str(log)], scheduler="none", explainer="hirescam")
    assert "hirescam" in result.mode and result.summary.compared == 4
    assert not result.summary.disagreements  # the prediction does not depend on the explainer
    direct = HiResCAM(model).explain_batch(np.stack([a for a, _ in views]), np.stack([b for _, b in views]))
    m_sum = sum(result.summary.m_sum.values())
    assert m_sum == pytest.approx(sum(e.m for e in direct), abs=1e-4)
    with pytest.raises(inspector.errors.InspectorError, match="no explainer plugin named 'nope'"):
        audit([str(log)], scheduler="none", explainer="nope")
