"""`inspector dataset from-logs`: the records an engineer labelled in the review view become training pairs."""

import datetime as dt
import json
from dataclasses import replace

import numpy as np

from cli_support import refused, run
from inspector.dataset.store import load_dataset, pair_sha256
from inspector.records import LabelStore, RecordWriter
from inspector.records.labels import labels_path
from records_support import LAYOUT, make_record

TWO_CLASSES = replace(LAYOUT, classes=("correct", "missing"))


def _record(i, layout, has_images=True):
    rec = make_record(i)
    k = len(layout.classes)
    rec.probs = (rec.probs[:k] / rec.probs[:k].sum()).astype(np.float32)
    rec.predicted = rec.target = int(rec.probs.argmax())
    rec.has_images = has_images
    return rec


def _log(path, n, layout=LAYOUT, no_images=()):
    with RecordWriter(path, layout) as w:
        for i in range(n):
            w.append(_record(i, layout, has_images=i not in no_images))
    return path


def _day(i):
    return dt.datetime.fromtimestamp(make_record(i).timestamp, dt.timezone.utc).strftime("%Y-%m-%d")


def test_labelled_records_become_pairs_and_the_rest_is_counted(tmp_path):
    log = _log(tmp_path / "run.h5", 9, no_images={6})
    labels = LabelStore(log)
    labels.add(0, "OK")
    labels.add(1, "NOK", true_class="missing")
    labels.add(2, "NOK", true_class="skewed")
    labels.add(3, "NOK")  # three NOK classes: which one is not known
    labels.add(4, "unsure")
    labels.add(6, "OK")  # its views were not kept
    labels.add(7, "OK")
    labels.add(7, "NOK", true_class="missing")  # the newest label wins
    out = tmp_path / "d.h5"
    r = run("dataset", "from-logs", log, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == f"skipped: {log}#6: its views were not kept in the log (image retention)"
    assert f"wrote {out}: 4 pairs of 32×32 views" in r.stdout
    assert "per class: correct (OK) 1, missing 2, skewed 1" in r.stdout
    assert "skipped 1" in r.stdout and "unlabelled 2" in r.stdout and "unsure 1" in r.stdout
    assert "NOK without a class 1" in r.stdout
    data = load_dataset(out)
    assert data.classes == LAYOUT.classes and data.ok_class == "correct"
    assert list(data.origin) == [f"{log}#{i}" for i in (0, 1, 2, 7)]
    assert [data.classes[k] for k in data.labels] == ["correct", "missing", "skewed", "missing"]
    assert set(data.source) == {str(log)}
    assert list(data.day) == [_day(i) for i in (0, 1, 2, 7)]
    for k, i in enumerate((0, 1, 2, 7)):
        rec = make_record(i)
        assert np.array_equal(data.view1[k], rec.view1) and np.array_equal(data.view2[k], rec.view2)
        assert data.sha256s[k] == pair_sha256(rec.view1, rec.view2)
    step = data.history[-1]
    assert step["command"] == "dataset from-logs" and step["inputs"][0]["path"] == str(log)
    assert len(step["inputs"][0]["sha256"]) == 64


def test_nok_without_a_class_is_the_single_nok_class_when_there_is_one(tmp_path):
    log = _log(tmp_path / "two.h5", 3, TWO_CLASSES)
    LabelStore(log).add(0, "NOK")
    LabelStore(log).add(1, "OK")
    out = tmp_path / "d.h5"
    r = run("dataset", "from-logs", log, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    data = load_dataset(out)
    assert data.classes == ("correct", "missing") and [data.classes[k] for k in data.labels] == ["missing", "correct"]
    assert "NOK without a class 0" in r.stdout and "unlabelled 1" in r.stdout


def test_several_logs_make_one_dataset_and_a_record_in_both_is_kept_once(tmp_path):
    a, b = _log(tmp_path / "a.h5", 3), _log(tmp_path / "b.h5", 4)
    for log in (a, b):
        LabelStore(log).add(0, "OK")
        LabelStore(log).add(1, "NOK", true_class="skewed")
    LabelStore(b).add(3, "NOK", true_class="missing")
    out = tmp_path / "d.h5"
    r = run("dataset", "from-logs", a, b, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "duplicates 2" in r.stdout  # records 0 and 1 are the same pixels in both logs
    data = load_dataset(out)
    assert list(data.origin) == [f"{a}#0", f"{a}#1", f"{b}#3"]
    assert [i["path"] for i in data.history[-1]["inputs"]] == [str(a), str(b)]


def test_a_label_naming_an_unknown_class_refuses_the_whole_run(tmp_path):
    log = _log(tmp_path / "run.h5", 3)
    LabelStore(log).add(0, "OK")
    with open(labels_path(log), "a") as f:  # a labels file edited by hand
        f.write(json.dumps({"record": 2, "verdict": "NOK", "comment": "", "who": "x", "when": "",
                            "true_class": "bent"}) + "\n")
    out = tmp_path / "d.h5"
    refused(run("dataset", "from-logs", log, "--out", out, "--quiet"), log, "record 2", "'bent'",
            command="dataset from-logs")
    assert not out.exists()


def test_logs_of_other_classes_are_refused_naming_both(tmp_path):
    a, b = _log(tmp_path / "a.h5", 2), _log(tmp_path / "b.h5", 2, TWO_CLASSES)
    for log in (a, b):
        LabelStore(log).add(0, "OK")
    r = run("dataset", "from-logs", a, b, "--out", tmp_path / "d.h5", "--quiet")
    refused(r, a, b, "classes", command="dataset from-logs")
    assert not (tmp_path / "d.h5").exists()


def test_a_log_without_usable_labels_writes_nothing(tmp_path):
    log = _log(tmp_path / "run.h5", 2)
    LabelStore(log).add(0, "unsure")
    r = run("dataset", "from-logs", log, "--out", tmp_path / "d.h5", "--quiet")
    refused(r, log, "no labelled record", "unlabelled 1", "unsure 1", command="dataset from-logs")
    refused(run("dataset", "from-logs", tmp_path / "none.h5", "--out", tmp_path / "d.h5"), tmp_path / "none.h5",
            command="dataset from-logs")
    assert not (tmp_path / "d.h5").exists()
