"""Classes of the user's own: which one is OK, their colours, and the checks on their names."""

import pytest

from inspector.acquisition import EndOfSource, FramePair, Source
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


class ViewsSource(Source):
    """Views already on the cavity plane, in the order given, then the end."""

    name, raw = "views", False

    def __init__(self, views):
        super().__init__()
        self.views = views

    def _open(self):
        self.i = 0

    def _read(self, timeout):
        if self.i >= len(self.views):
            raise EndOfSource("all views read")
        v1, v2 = self.views[self.i]
        self.i += 1
        return FramePair(v1, v2, cavity_id=0, frame_ids=(self.i, self.i))


def test_with_ok_the_second_of_two_classes_views_and_curves_are_kept_for_nok_only(tmp_path):
    """`--retention nok-images` and `--curves nok` ask the model's ClassSet: neither the name `correct` nor
    the first class decides OK."""
    import numpy as np
    import torch

    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.records import RecordReader
    from inspector.synth import generate

    views = [(s.view1, s.view2) for s in generate(8, seed=3)]
    torch.manual_seed(0)
    model = build_model(ArchConfig(classes=("scrap", "fine"), ok_class="fine")).eval()
    x1, x2 = (torch.from_numpy(np.stack([v[k] for v in views])).permute(0, 3, 1, 2).float() / 255 for k in (0, 1))
    with torch.no_grad():
        d = (lambda logits: logits[:, 1] - logits[:, 0])(model(x1, x2)).sort().values
        # Half the pairs each way: the decision threshold between the two middle ones.
        model.fusion.head.bias[1] -= float(d[3] + d[4]) / 2
    log = tmp_path / "two.h5"
    Pipeline(ViewsSource(views), model, out=log, retention="nok-images",
             config=PipelineConfig(curves="nok", keep_all=True, batch=4)).run()
    with RecordReader(log) as reader:
        assert reader.layout.classes == ("scrap", "fine") and reader.layout.ok_class == "fine"
        sc = reader.scalars(0, len(reader))
        predicted = sc["predicted"].astype(int)
        assert sorted(predicted) == [0] * 4 + [1] * 4
        nok = predicted == 0
        assert (sc["has_images"].astype(bool) == nok).all()
        assert (np.isfinite(sc["m"]) == nok).all()
