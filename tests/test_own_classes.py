"""Classes of the user's own, end to end: a four-class dataset (`good`, `flash`, `short`, `void`; OK is
`good`) goes through `inspector train` → `inspector run` → the review view → `inspector audit` → the
operator view, and every stage counts, colours and filters by those classes and that OK class."""

import json

import h5py
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from cli_support import refused, run  # noqa: E402
from inspector.classes import NOK_COLOURS, OK_COLOUR, ClassSet  # noqa: E402
from inspector.images import write_image  # noqa: E402
from inspector.records import LabelStore, RecordReader  # noqa: E402
from inspector.synth import generate  # noqa: E402

CLASSES = ("good", "flash", "short", "void")
OK = "good"
FROM_SIMULATOR = {"correct": "good", "skewed": "flash", "missing": "short"}
PAIRS = 10  # pairs the line run inspects


def _void(view: np.ndarray) -> np.ndarray:
    """A seated insert with a dark hole in the middle of the cavity: the fourth class, cheap to draw."""
    out = view.copy()
    h, w = out.shape[:2]
    out[h // 3:2 * h // 3, w // 3:2 * w // 3] //= 4
    return out


def four_class_samples(n: int, seed: int):
    """(view1, view2, class name) from simulated cavities at half size (64×64: training a few epochs takes
    seconds): every other `correct` one becomes a void."""
    out = []
    seen_correct = 0
    for s in generate(n, seed=seed):
        v1, v2, name = s.view1[::2, ::2].copy(), s.view2[::2, ::2].copy(), FROM_SIMULATOR[s.label]
        if s.label == "correct":
            seen_correct += 1
            if seen_correct % 2 == 0:
                v1, v2, name = _void(v1), _void(v2), "void"
        out.append((v1, v2, name))
    return out


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """The dataset, the model trained on it and a log of a folder run with that model."""
    folder = tmp_path_factory.mktemp("own_classes")
    data = folder / "d.h5"
    samples = four_class_samples(80, seed=11)
    # The class order of the file is not the simulator's, and OK is not the first class.
    order = ("flash", "good", "short", "void")
    with h5py.File(data, "w") as f:
        f["view1"] = np.stack([s[0] for s in samples])
        f["view2"] = np.stack([s[1] for s in samples])
        f["label"] = np.array([order.index(s[2]) for s in samples], np.uint8)
        f.attrs["classes"] = json.dumps(list(order))
        f.attrs["ok_class"] = OK
    model = folder / "m.pt"
    # A few epochs, so that the model says more than one class (training is deterministic on the CPU).
    r = run("train", "--data", data, "--out", model, "--epochs", "8", "--batch", "16", "--lr", "0.01")
    assert r.returncode == 0, r.stderr

    shots = folder / "shots"
    shots.mkdir()
    line = four_class_samples(PAIRS, seed=99)
    for i, (v1, v2, _) in enumerate(line):
        write_image(shots / f"c{i}_cam1.png", v1)
        write_image(shots / f"c{i}_cam2.png", v2)
    log = folder / "log.h5"
    r = run("run", "--model", model, "--source", "folder", "--source-opt", f"path={shots}", "--source-opt",
            "raw=false", "--keep-all", "--curves", "all", "--out", log)
    assert r.returncode == 0, r.stderr
    predicted = _predicted(log)
    assert OK in predicted and set(predicted) - {OK}, f"the checks below need OK and NOK verdicts: {predicted}"
    return {"data": data, "model": model, "log": log, "shots": shots, "order": order, "run_stdout": r.stdout,
            "folder": folder}


def _predicted(log):
    with RecordReader(log) as reader:
        return [reader.layout.classes[int(k)] for k in reader.scalars(0, len(reader))["predicted"]]


def test_the_model_and_the_log_carry_the_four_classes_and_good_as_ok(flow):
    from inspector.model.checkpoint import load_model

    model = load_model(flow["model"], device="cpu")
    assert tuple(model.classes) == flow["order"] and model.ok_class == OK
    with RecordReader(flow["log"]) as reader:
        assert tuple(reader.layout.classes) == flow["order"]
        assert reader.layout.ok_class == OK and reader.layout.class_set.ok_index == 1
        assert len(reader) == PAIRS
    # The printed summary counts every class by its own name, and OK/NOK by `good`.
    predicted = _predicted(flow["log"])
    out = flow["run_stdout"]
    assert f"OK ({OK}) {predicted.count(OK)}, NOK {PAIRS - predicted.count(OK)}" in out, out
    for c in CLASSES:
        assert f"{c} {predicted.count(c)}" in out, out


def test_the_records_exported_say_ok_by_good(flow, tmp_path):
    import csv

    from inspector.evaluation.record_export import record_dict
    from inspector.records import export_csv

    log = tmp_path / "log.h5"
    log.write_bytes(flow["log"].read_bytes())
    LabelStore(log).add(0, "NOK", who="test", true_class="void")
    with RecordReader(log) as reader:
        export_csv(reader, tmp_path / "all.csv")
        doc = record_dict(reader, 0)
    rows = list(csv.DictReader(open(tmp_path / "all.csv")))
    assert [r["verdict"] for r in rows] == ["OK" if c == OK else "NOK" for c in _predicted(log)]
    assert {f"p_{c}" for c in CLASSES} <= set(rows[0]) and rows[0]["label_true_class"] == "void"
    assert doc["ok_class"] == OK and doc["verdict"] == rows[0]["verdict"] and doc["label"]["true_class"] == "void"


@pytest.fixture(scope="module")
def context(flow):
    from ui.app_context import load_context

    return load_context("cpu", model_path=str(flow["model"]))


def test_review_lists_the_logs_classes_filters_by_them_and_colours_them(qtbot, flow, context):
    from ui.record_table import COLUMNS
    from ui.review_view import ReviewView

    view = ReviewView(context)
    qtbot.addWidget(view)
    view.resize(1280, 760)
    try:
        assert view.open_log(flow["log"])
        combo = view.filters.combos["class"]
        items = [combo.itemText(i) for i in range(combo.count())]
        assert items == ["any", f"OK ({OK})", "NOK (all others)", *flow["order"]]
        predicted = _predicted(flow["log"])
        busiest = max(CLASSES, key=predicted.count)
        col = COLUMNS.index("class")

        def shown():
            return [view.model.data(view.model.index(r, col)) for r in range(view.model.rowCount())]

        combo.setCurrentText(busiest)
        assert shown() == [busiest] * predicted.count(busiest) and predicted.count(busiest) > 0
        combo.setCurrentText("NOK (all others)")
        assert sorted(shown()) == sorted(c for c in predicted if c != OK)
        combo.setCurrentText(f"OK ({OK})")
        assert shown() == [OK] * predicted.count(OK)
        combo.setCurrentText("any")
        assert len(shown()) == PAIRS

        # Each row's class in the log's colour for it; the detail header and bars follow the same ClassSet.
        colours = ClassSet.of(flow["order"], OK).colours()
        from PySide6 import QtCore

        for r, name in enumerate(shown()):
            brush = view.model.data(view.model.index(r, col), QtCore.Qt.ItemDataRole.ForegroundRole)
            assert brush.name() == colours[name]
        frame_class = predicted[view.current_record]
        assert view.detail.frame.class_set == ClassSet(flow["order"], OK)
        assert view.detail.frame.is_ok == (frame_class == OK) and view.detail.frame.colour == colours[frame_class]
    finally:
        view.shutdown()


def test_the_audit_counts_the_four_classes_and_ok_by_good(flow, tmp_path):
    log = tmp_path / "log.h5"
    log.write_bytes(flow["log"].read_bytes())
    predicted = _predicted(log)
    # One engineer label that agrees with a `good` verdict or a NOK one, and one that disagrees.
    first_ok = predicted[0] == OK
    labels = LabelStore(log)
    labels.add(0, "OK" if first_ok else "NOK", who="test")
    labels.add(1, "NOK" if predicted[1] == OK else "OK", who="test")
    out = tmp_path / "report"
    r = run("audit", log, "--stored", "--scheduler", "none", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["classes"] == list(flow["order"]) and s["ok_class"] == OK
    assert s["per_class"] == {c: predicted.count(c) for c in flow["order"]}
    assert s["ok"] == predicted.count(OK) and s["nok"] == PAIRS - predicted.count(OK)
    assert s["labels"]["labelled"] == 2 and s["labels"]["agree"] == 1
    html = (out / "report.html").read_text()
    assert f"OK (class {OK}): <b>{predicted.count(OK)}</b>" in html
    for c in CLASSES:
        assert f"<td>{c}</td>" in html
    assert f"OK ({OK}) {predicted.count(OK)}, NOK {PAIRS - predicted.count(OK)}" in r.stdout


def test_the_study_refuses_a_model_the_simulated_truth_cannot_judge(flow, tmp_path):
    for extra in ((), ("--explainers", "gradcam")):
        r = run("study", "--model", flow["model"], "--out", tmp_path / "study", "--per-class", "1", *extra)
        refused(r, flow["model"], "flash, good, short, void", "simulator", command="study")
        assert not (tmp_path / "study").exists()


def test_logs_with_another_ok_class_are_not_audited_together(flow, tmp_path):
    from inspector.audit import AuditError, audit

    other = tmp_path / "other.h5"
    other.write_bytes(flow["log"].read_bytes())
    with h5py.File(other, "r+") as f:
        f.attrs["ok_class"] = "void"
    with pytest.raises(AuditError, match="OK class"):
        audit([str(flow["log"]), str(other)], stored=True, scheduler="none")


def test_the_operator_view_shows_the_four_classes_and_ok_in_green_for_good(qtbot, flow, context, tmp_path):
    from ui.operator_view import OperatorView

    view = OperatorView(context, log_folder=tmp_path / "logs")
    qtbot.addWidget(view)
    view.resize(1280, 760)
    view.show()
    try:
        classes = context.class_set
        assert classes == ClassSet(flow["order"], OK)
        tiles = {k[len("class:"):]: label for k, label in view.counters.values.items() if k.startswith("class:")}
        assert tuple(tiles) == flow["order"]
        for c, label in tiles.items():
            assert classes.colour(c) in label.styleSheet()
        assert classes.colour(OK) == OK_COLOUR and len(set(classes.colours().values())) == 4

        view.chooser.choose("folder")
        view.chooser.set_option("path", str(flow["shots"]))
        view.chooser.set_option("raw", "false")
        assert view.start()
        qtbot.waitUntil(lambda: not view.running, timeout=60000)
        predicted = _predicted(flow["log"])  # the same model and pairs: the same verdicts
        for c in CLASSES:
            assert view.counters.text(f"class:{c}") == str(predicted.count(c))
        assert view.counters.text("yield") == f"{100 * predicted.count(OK) / PAIRS:.1f} %"
        # Every NOK pair, and only those, reaches the gallery, framed in its class's colour.
        assert sorted(f.predicted_name for f in view.gallery.frames) == sorted(c for c in predicted if c != OK)
        for f in view.gallery.frames:
            edge = "#" + bytes(f.thumbnail[0, 0]).hex()
            assert edge == classes.colour(f.predicted_name)
        # The cavity's tile: OK in green for `good`; every NOK red, edged in its class's colour.
        frame = view.gallery.frames[0]
        view.show_frame(frame)
        tile = view.tiles.tile(frame.cavity_id)
        assert tile.state == "NOK" and classes.colour(frame.predicted_name) in tile.styleSheet()
        ok_frame = _frame_of(frame, OK)
        view.show_frame(ok_frame)
        assert tile.state == "OK" and OK_COLOUR in tile.styleSheet()
        assert tile.verdict.text() == "OK" and tile.detail.full_text().startswith(f"{OK} ")
        void = _frame_of(ok_frame, "void")
        view.show_frame(void)
        assert tile.state == "NOK" and tile.detail.full_text().startswith("void ")
        assert classes.colour("void") in tile.styleSheet()
        assert f"background: {NOK_COLOURS[0]}" in tile.styleSheet()
    finally:
        view.shutdown()


def _frame_of(frame, name):
    """The same display frame as if the model had said `name`."""
    import dataclasses

    k = frame.classes.index(name)
    return dataclasses.replace(frame, predicted=k, target=k)
