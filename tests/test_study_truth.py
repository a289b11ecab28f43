"""The study's truth tables: the Wilson interval, agreement per (class, camera that sees, what hides the
other) and overall, and influence shares on the pairs both cameras see — on known counts and on a small
study of the shipped model."""

import json

import numpy as np
import pytest

from inspector import load_model
from inspector.evaluation.agreement import agreement_table, both_visible_shares, wilson_interval
from inspector.evaluation.study import format_table, run_study, write_study


@pytest.mark.parametrize("k, n, lo, hi", [
    (5, 10, 0.2366, 0.7634),  # R: binom::binom.wilson(5, 10)
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
    (1, 1, 0.2065, 1.0),
])
def test_wilson_interval_matches_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-4)


def test_wilson_interval_of_nothing_is_unknown_and_bad_counts_are_refused():
    assert all(np.isnan(wilson_interval(0, 0)))
    with pytest.raises(ValueError):
        wilson_interval(4, 3)


def test_agreement_table_counts_each_cell_and_the_overall():
    classes = ("correct", "missing", "skewed")
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    evidence = np.array(["camera 1", "camera 1", "both", "camera 2", "camera 2", "camera 1", "camera 2", "none"])
    hidden = np.array(["glare", "fixture", "", "glare", "glare", "fixture", "glare", "glare"])
    influence = np.array(["camera 1", "equal", "camera 2", "camera 2", "camera 1", "camera 1", "camera 2", "equal"])
    t = agreement_table(classes, labels, evidence, influence, hidden)
    cells = {(c["class"], c["sees"], c["hidden_by"]): (c["k"], c["n"]) for c in t["cells"]}
    assert cells == {("correct", "camera 1", "fixture"): (0, 1), ("correct", "camera 1", "glare"): (1, 1),
                     ("missing", "camera 2", "glare"): (1, 2), ("skewed", "camera 1", "fixture"): (1, 1),
                     ("skewed", "camera 2", "glare"): (1, 1)}
    assert (t["overall"]["k"], t["overall"]["n"]) == (4, 6)
    assert t["overall"]["ci95"] == pytest.approx(list(wilson_interval(4, 6)))
    shares = both_visible_shares(classes, labels, evidence, np.linspace(-1, 1, 8), influence)
    assert list(shares) == ["correct"] and shares["correct"]["n"] == 1
    assert shares["correct"]["influence_share"] == {"camera 1": 0.0, "camera 2": 1.0, "equal": 0.0}


@pytest.mark.parametrize("n", [1, 3, 7, 11, 46, 50, 92, 100, 150, 300, 1000])
def test_a_cell_all_right_or_all_wrong_has_the_exact_end_and_draws(n):
    """At k = n the upper end is 1 exactly (floating point once landed below the share, and the
    figure's error bar went negative: a study where every pair agreed crashed)."""
    from matplotlib.figure import Figure

    from inspector.evaluation.agreement import agreement_figure

    assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0
    classes = ("correct", "missing", "skewed")
    labels = np.zeros(n, int)
    evidence = np.array(["camera 1"] * n)
    table = agreement_table(classes, labels, evidence, evidence.copy(), np.array(["glare"] * n))
    assert table["overall"]["ci95"][1] == 1.0
    agreement_figure(Figure(), table)


@pytest.fixture(scope="module")
def study():
    return run_study(load_model(None, "cpu"), 3, seed=31, hidden_share=0.6)


def test_a_small_study_reports_cells_that_sum_to_the_overall(study, tmp_path):
    s = study.summary
    table = s["agreement"]
    one = np.isin(study.evidence, ("camera 1", "camera 2"))
    infl = np.array([e.influence for e in study.explanations])
    assert table["overall"]["n"] == one.sum() > 0
    assert table["overall"]["k"] == (infl[one] == study.evidence[one]).sum()
    assert sum(c["n"] for c in table["cells"]) == table["overall"]["n"]
    assert sum(c["k"] for c in table["cells"]) == table["overall"]["k"]
    assert {c["hidden_by"] for c in table["cells"]} <= {"glare", "fixture"}
    for c in table["cells"]:
        assert c["ci95"][0] <= c["share"] <= c["ci95"][1]
    # The old figure and the new table agree.
    assert s["hidden_agreement_overall"] == pytest.approx(table["overall"]["share"])
    both = study.evidence == "both"
    assert sum(d["n"] for d in s["both_visible"].values()) == both.sum()
    text = format_table(s)
    assert "95% CI (Wilson)" in text and "pairs both cameras see" in text
    assert f"{table['overall']['k']:>3}/{table['overall']['n']:<3}" in text
    paths = write_study(study, tmp_path)
    assert (tmp_path / "agreement.png").stat().st_size > 5_000 and tmp_path / "agreement.png" in paths
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["agreement"]["overall"]["n"] == table["overall"]["n"]
    assert set(on_disk["both_visible"]) == set(s["both_visible"])
