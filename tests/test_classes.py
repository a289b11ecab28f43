"""Classes of the user's own: which one is OK, their colours, and the checks on their names."""

import pytest

from inspector.classes import OK_COLOUR, ClassSet, check_classes, default_ok_class
from inspector.errors import InspectorError
from inspector.model.mvfn import ArchConfig, build_model
from inspector.records.errors import RecordsError
from inspector.records.labels import LabelStore, true_class_error
from inspector.records.schema import Layout


def test_the_ok_class_is_correct_by_default_and_else_the_first():
    assert default_ok_class(("correct", "missing", "skewed")) == "correct"
    assert default_ok_class(("good", "flash", "short")) == "good"
    assert ClassSet.of(("a", "b"), "b").ok_index == 1


def test_ok_is_green_and_every_nok_class_has_a_colour_of_its_own():
    cs = ClassSet.of(("flash", "good", "short", "burn", "void"), "good")
    colours = cs.colours()
    assert colours["good"] == OK_COLOUR
    assert len(set(colours.values())) == 5
    assert cs.is_ok(1) and not cs.is_ok(0)
    assert cs.nok == ("flash", "short", "burn", "void")


@pytest.mark.parametrize(
    "classes, ok, why",
    [(("one",), None, "at least two"), (("a", "a"), None, "named twice"), (("a", " b"), None, "padded"),
     (("a", ""), None, "empty"), (("a", "b"), "c", "not one of")],
)
def test_bad_class_sets_are_refused_with_the_reason(classes, ok, why):
    with pytest.raises(InspectorError, match=why):
        check_classes(classes, ok, "data.h5")


def test_a_model_carries_its_ok_class_and_old_configs_get_the_default_rule():
    model = build_model(ArchConfig(classes=("good", "flash", "short", "void"), ok_class="good"))
    assert ClassSet.of_model(model).ok == "good"
    old = ArchConfig().to_dict()
    del old["ok_class"]
    assert ArchConfig.from_dict(old).ok_class == "correct"
    with pytest.raises(ValueError, match="OK class"):
        build_model(ArchConfig(classes=("a", "b"), ok_class="correct"))


def test_a_log_layout_keeps_its_ok_class_and_old_logs_read_as_before():
    layout = Layout(("good", "bad"), (8, 8, 3), ((4, 4),) * 4, (0.0, 1.0), ok_class="good")
    attrs = layout.to_attrs()
    assert Layout.from_attrs(attrs).class_set == ClassSet(("good", "bad"), "good")
    del attrs["ok_class"]
    assert Layout.from_attrs(attrs).class_set.ok == "good"  # the first class: no `correct` here


def test_a_label_may_name_the_true_class_and_old_labels_still_read(tmp_path):
    store = LabelStore(tmp_path / "run.h5")
    store.add(3, "NOK", "burr", who="qe", true_class="skewed")
    store.path.write_text(store.path.read_text() + '{"record": 4, "verdict": "OK", "comment": "", '
                          '"who": "qe", "when": "2026-01-01T00:00:00+00:00"}\n')
    current = store.current()
    assert current[3].true_class == "skewed" and current[4].true_class == ""
    with pytest.raises(RecordsError, match="unsure"):
        store.add(5, "unsure", true_class="skewed")
    classes = ("correct", "missing", "skewed")
    assert "not one of" in true_class_error("NOK", "burnt", classes, "correct")
    assert "OK means" in true_class_error("OK", "missing", classes, "correct")
    assert "NOK cannot" in true_class_error("NOK", "correct", classes, "correct")
    assert true_class_error("NOK", "missing", classes, "correct") == ""
