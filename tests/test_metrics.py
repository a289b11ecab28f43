"""Faithfulness metrics: exact answers on a model whose evidence is known, and their contract."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import inspector
from inspector.errors import InspectorError
from inspector.explain.explainers import start_explainer
from inspector.evaluation.metrics import (
    SETTINGS,
    Faithfulness,
    area,
    explanation_faithfulness,
    faithfulness,
    step_counts,
)
from inspector.synth import generate


class Brightness(nn.Module):
    """P(bright) = sigmoid(20 × mean brightness of view `view` − 2.5); the other view is ignored."""

    classes = ("bright", "dark")

    def __init__(self, view: int, split: bool = True):
        super().__init__()
        self.view = view
        self.scale = nn.Parameter(torch.tensor(20.0), requires_grad=False)
        if split:  # with encode/fuse the metrics reuse the unperturbed view's features
            self.encode = lambda v, x: [x]
            self.fuse = lambda f1, f2: self._logits((f1, f2)[self.view][0])

    def _logits(self, x):
        s = x.mean(dim=(1, 2, 3))
        return torch.stack([self.scale * s - 2.5, torch.zeros_like(s)], dim=1)

    def forward(self, a, b):
        return self._logits((a, b)[self.view])


def _scene():
    view = np.full((64, 64, 3), 0.1, np.float32)
    view[20:44, 20:44] = 1.0  # 576 pixels, 14 % of the image
    rng = np.random.default_rng(0)
    other = rng.uniform(0, 1, (64, 64, 3)).astype(np.float32)
    return view, other


def _prob(image: np.ndarray) -> float:
    return float(1 / (1 + np.exp(-(20 * image.mean() - 2.5))))


def _first(heat: np.ndarray, k: int) -> np.ndarray:
    """The k positions a map ranks first (stable: ties in row-major order), as an H×W bool."""
    out = np.zeros(heat.size, bool)
    out[np.argsort(-heat.ravel(), kind="stable")[:k]] = True
    return out.reshape(heat.shape)


@pytest.mark.parametrize("split", [True, False])
def test_known_answers_on_a_model_that_reads_camera_2(split):
    seen, ignored = _scene()
    heat_seen = seen[..., 0] + 0.01 * np.linspace(0, 1, 64)[None, :]  # the blob first, then a ramp
    heat_ignored = ignored[..., 0]
    maps = np.stack([heat_ignored, heat_seen])[None]
    f = faithfulness(Brightness(1, split), ignored[None], seen[None], maps, [0], steps=8)

    base = _prob(seen)
    assert f.base[0] == pytest.approx(base, abs=1e-6)
    kept = seen * _first(heat_seen, int(np.floor(0.15 * 4096 + 0.5)))[..., None]
    np.testing.assert_allclose(f.kept[0], [base, _prob(kept), _prob(kept)], atol=1e-6)
    drop = 100 * max(0.0, base - _prob(kept)) / base
    np.testing.assert_allclose(f.drop(), [0.0, drop, drop], atol=1e-4)
    np.testing.assert_allclose(f.increase(), [0.0, 0.0, 0.0])

    np.testing.assert_array_equal(f.fractions, np.arange(9) / 8)
    for i, k in enumerate(step_counts(8, 4096)):
        first = _first(heat_seen, int(k))[..., None]
        assert f.deletion[0, 1, i] == pytest.approx(_prob(seen * ~first), abs=1e-6)
        assert f.insertion[0, 1, i] == pytest.approx(_prob(seen * first), abs=1e-6)
    np.testing.assert_allclose(f.deletion[0, 0], base, atol=1e-6)  # camera 1 is never read
    np.testing.assert_allclose(f.insertion[0, 0], base, atol=1e-6)
    np.testing.assert_allclose(f.deletion[0, 2], f.deletion[0, 1], atol=1e-6)  # coupled = camera 2 alone here
    np.testing.assert_allclose(f.insertion[0, 2], f.insertion[0, 1], atol=1e-6)
    np.testing.assert_allclose(f.deletion_auc()[0, 0], base, atol=1e-6)
    assert f.deletion_auc()[0, 1] == pytest.approx(area(f.deletion[0, 1], f.fractions))


def test_a_faithful_map_beats_its_reverse():
    seen, ignored = _scene()
    heat = seen[..., 0] + 0.01 * np.linspace(0, 1, 64)[None, :]
    model = Brightness(1)
    good = faithfulness(model, ignored[None], seen[None], np.stack([heat, heat])[None], [0])
    bad = faithfulness(model, ignored[None], seen[None], np.stack([heat, -heat])[None], [0])
    assert good.deletion_auc()[0, 1] < bad.deletion_auc()[0, 1] - 0.1
    assert good.insertion_auc()[0, 1] > bad.insertion_auc()[0, 1] + 0.1
    assert good.drop()[1] < bad.drop()[1]


def test_drop_increase_and_area_formulas():
    f = Faithfulness(
        base=np.array([0.8, 0.5, 0.4]),
        kept=np.array([[0.4, 0.9, 0.8], [0.5, 0.25, 0.5], [0.6, 0.4, 0.0]]),
        fractions=np.linspace(0, 1, 3),
        deletion=np.zeros((3, 3, 3)),
        insertion=np.ones((3, 3, 3)),
    )
    np.testing.assert_allclose(f.drop(), 100 * np.array([0.5 / 3, (0 + 0.5 + 0) / 3, (0 + 0 + 1) / 3]))
    np.testing.assert_allclose(f.increase(), 100 * np.array([1 / 3, 1 / 3, 0]))
    assert area(np.array([1.0, 0.5, 0.0]), np.linspace(0, 1, 3)) == pytest.approx(0.5)
    summary = f.summary()
    assert set(summary["drop_pct"]) == set(SETTINGS) and summary["insertion_auc"]["both"] == pytest.approx(1.0)


def test_batches_do_not_change_the_numbers_and_bad_input_is_refused():
    rng = np.random.default_rng(1)
    v1 = rng.uniform(0, 1, (3, 32, 32, 3)).astype(np.float32)
    v2 = rng.uniform(0, 1, (3, 32, 32, 3)).astype(np.float32)
    maps = rng.uniform(0, 1, (3, 2, 32, 32)).astype(np.float32)
    model = Brightness(0)
    a = faithfulness(model, v1, v2, maps, [0, 1, 0], batch=1, chunk=5, steps=4)
    b = faithfulness(model, v1, v2, maps, [0, 1, 0], batch=3, steps=4)
    for x, y in ((a.kept, b.kept), (a.deletion, b.deletion), (a.insertion, b.insertion)):
        np.testing.assert_allclose(x, y, atol=1e-6)
    with pytest.raises(InspectorError, match="do not describe the same pairs"):
        faithfulness(model, v1, v2, maps[:2], [0, 1, 0])
    with pytest.raises(InspectorError, match="share"):
        faithfulness(model, v1, v2, maps, [0, 1, 0], share=0.0)


def test_on_explanations_of_the_shipped_model(line):
    model = inspector.load_model(device="cpu")
    samples = generate(3, seed=8, hidden_share=0.5, line=line)
    v1 = np.stack([s.view1 for s in samples])
    v2 = np.stack([s.view2 for s in samples])
    ex = start_explainer("gradcam", model)
    es = ex.explain_batch(v1, v2)
    f = explanation_faithfulness(ex, v1, v2, es, steps=8)
    np.testing.assert_allclose(f.base, [e.probs[e.target] for e in es], atol=1e-5)
    assert f.kept.shape == (3, 3) and f.deletion.shape == f.insertion.shape == (3, 3, 9)
    for c in (f.kept, f.deletion, f.insertion):
        assert ((0 <= c) & (c <= 1)).all()
    np.testing.assert_allclose(f.deletion[:, :, 0], f.base[:, None].repeat(3, 1), atol=1e-6)
    np.testing.assert_allclose(f.insertion[:, :, -1], f.base[:, None].repeat(3, 1), atol=1e-6)
    np.testing.assert_allclose(f.deletion[:, :, -1], f.insertion[:, :, 0], atol=1e-5)  # all black either way


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_metrics_on_cuda_as_on_the_cpu():
    seen, ignored = _scene()
    heat = seen[..., 0]
    maps = np.stack([heat, heat])[None]
    cpu = faithfulness(Brightness(1), ignored[None], seen[None], maps, [0])
    gpu = faithfulness(Brightness(1).cuda(), ignored[None], seen[None], maps, [0])
    np.testing.assert_allclose(gpu.deletion, cpu.deletion, atol=1e-4)
    np.testing.assert_allclose(gpu.kept, cpu.kept, atol=1e-4)


def test_metrics_resize_nothing():
    """The maps are ranked at input size as given: a map of another size is refused, not resized."""
    seen, ignored = _scene()
    small = F.avg_pool2d(torch.from_numpy(seen[..., 0])[None, None], 2)[0, 0].numpy()
    with pytest.raises(InspectorError):
        faithfulness(Brightness(1), ignored[None], seen[None], np.stack([small, small])[None], [0])
