"""m's bootstrap-over-p interval and the "unsure" verdict (issue 19, deliverable 4): a point for constant
differences, a known case that crosses the ±0.02 band, vectorised equal to per record, deterministic,
no curves → no interval; shown by `inspector explain`, the figure's title and the record CSV."""

import csv
import dataclasses
import json

import numpy as np

from inspector.evaluation.figure import curves_title
from inspector.explain.engine import Explanation
from inspector.explain.influence_interval import (
    RESAMPLES,
    influence_text,
    m_interval,
    record_interval,
    resample_counts,
    unsure_between,
)
from inspector.number_text import MINUS


def curves_with(d, a2=0.9):
    """Curves (3, P) whose differences a2 − a3 are d."""
    d = np.asarray(d, np.float64)
    return np.stack([np.full_like(d, 0.5), np.full_like(d, a2), a2 - d])


def test_constant_differences_give_a_point():
    curves = curves_with(np.full(11, -0.03))
    r = m_interval(curves)
    assert float(r.low) == float(r.high) == curves[1, 0] - curves[2, 0]
    assert not bool(r.unsure)


def test_one_step_that_carries_m_over_the_band_is_unsure():
    # m = 0.4/11 = +0.036 (camera 2), all of it from four grid points: resamples that take them
    # less often fall into the equal band.
    d = np.zeros(11)
    d[7:] = 0.1
    low, high, unsure = record_interval(curves_with(d))
    assert low < 0.02 <= np.mean(d) < high
    assert unsure
    text = influence_text("camera 2", low, high)
    assert text.startswith("camera 2 (unsure: m ∈ [") and MINUS + "0.000" not in text


def test_a_clear_verdict_is_sure_and_shown_alone():
    d = np.linspace(-0.5, -0.3, 11)
    low, high, unsure = record_interval(curves_with(d))
    assert high < -0.02 and not unsure
    assert influence_text("camera 1", low, high) == "camera 1"


def test_band_boundaries_follow_the_papers_reading_of_m():
    assert list(unsure_between([-0.05, -0.019, 0.02, -0.03, np.nan], [-0.021, 0.019, 0.5, 0.0, np.nan])) == [
        False, False, False, True, False]


def test_vectorised_equals_per_record_and_keeps_leading_axes():
    rng = np.random.default_rng(7)
    curves = rng.uniform(0, 1, (5, 4, 3, 11))
    curves[1, 2] = np.nan  # a record without curves
    batch = m_interval(curves)
    assert batch.low.shape == (5, 4)
    for i in range(5):
        for j in range(4):
            one = m_interval(curves[i, j])
            # equal up to the order a matrix product sums in, which depends on its shape
            np.testing.assert_allclose(batch.low[i, j], one.low, rtol=0, atol=1e-15)
            np.testing.assert_allclose(batch.high[i, j], one.high, rtol=0, atol=1e-15)
            assert batch.unsure[i, j] == one.unsure
    assert np.isnan(batch.low[1, 2]) and not batch.unsure[1, 2]
    # the percentiles are numpy's (linear) of the 2000 resampled means
    d = curves[0, 0, 1] - curves[0, 0, 2]
    means = resample_counts(11) @ d / 11
    np.testing.assert_allclose([batch.low[0, 0], batch.high[0, 0]], np.quantile(means, [0.025, 0.975]), atol=1e-12)


def test_deterministic_and_the_resamples_are_fixed_and_read_only():
    curves = np.random.default_rng(3).uniform(0, 1, (50, 3, 11))
    a, b = m_interval(curves), m_interval(curves.copy())
    np.testing.assert_array_equal(a.low, b.low)
    np.testing.assert_array_equal(a.high, b.high)
    counts = resample_counts(11)
    assert counts.shape == (RESAMPLES, 11) and not counts.flags.writeable
    np.testing.assert_array_equal(counts.sum(axis=1), 11)
    assert resample_counts(11) is counts  # built once per P


def test_the_figure_title_shows_the_interval_and_unsure():
    d = np.zeros(11)
    d[7:] = 0.1
    e = Explanation(probs=np.array([0.1, 0.2, 0.7]), target=2, classes=("correct", "missing", "skewed"),
                    cams=np.zeros((2, 4, 8, 8), np.float32), p=np.linspace(0, 1, 11), curves=curves_with(d),
                    m=float(np.mean(d)), influence="camera 2", occludable=np.array([3, 3]))
    title = curves_title(e)
    assert title.startswith("m = +0.036 [") and title.endswith("→ camera 2, unsure")
    assert curves_title(dataclasses.replace(e, fill="road")).endswith("unsure (fill: road)")
    doc = e.to_dict()
    assert doc["unsure"] is True and doc["fill"] == "zero" and doc["m_interval"][0] < 0.02 < doc["m_interval"][1]


def test_the_record_csv_has_the_interval_and_the_fill(tmp_path):
    from inspector.records import RecordReader, RecordWriter
    from inspector.records.export import export_csv
    from records_support import LAYOUT, make_record

    d = np.zeros(11)
    d[7:] = 0.1
    with RecordWriter(tmp_path / "log.h5", LAYOUT) as w:
        w.append(dataclasses.replace(make_record(0), curves=curves_with(d).astype(np.float32)))
        w.append(dataclasses.replace(make_record(1), curves=np.full((3, 11), np.nan, np.float32), m=float("nan"),
                                     influence="none"))
    with RecordReader(tmp_path / "log.h5") as r:
        export_csv(r, tmp_path / "t.csv")
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert rows[0]["unsure"] == "True" and rows[0]["fill"] == "zero"
    assert float(rows[0]["m_low"]) < 0.02 < float(rows[0]["m_high"])
    assert (rows[1]["m_low"], rows[1]["m_high"], rows[1]["unsure"]) == ("nan", "nan", "False")


def test_inspector_explain_prints_the_interval_and_the_fill(tmp_path, capsys, line):
    from inspector.cli import main
    from inspector.images import write_image
    from inspector.synth import generate

    s = generate(1, seed=11, line=line)[0]
    write_image(tmp_path / "v1.png", s.view1)
    write_image(tmp_path / "v2.png", s.view2)
    assert main(["explain", str(tmp_path / "v1.png"), str(tmp_path / "v2.png"), "--device", "cpu", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    low, high = doc["m_interval"]
    assert low <= high and doc["fill"] == "zero" and isinstance(doc["unsure"], bool)
    assert main(["explain", str(tmp_path / "v1.png"), str(tmp_path / "v2.png"), "--device", "cpu"]) == 0
    assert "95% interval [" in capsys.readouterr().out
