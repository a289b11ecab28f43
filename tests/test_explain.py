import gc

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from inspector.errors import InspectorError
from inspector.explain import GradCAM, explain_batch, explain_pair, influence_of, occlusion_mask
from inspector.explain.masks import occluded_count, occlusion_ranks
from inspector.model import MVFN, ArchConfig

from explain_models import Brightness


# -- the masks ----------------------------------------------------------------------------------


def test_mask_edges_p0_p1_and_threshold():
    rng = np.random.default_rng(0)
    heat = rng.uniform(0, 1, (16, 16))
    assert occlusion_mask(heat, 0.0).min() == 1
    full = occlusion_mask(heat, 1.0)
    np.testing.assert_array_equal(full == 0, heat > heat.max() / 4)  # p = 1: all above τ, not the image
    assert occlusion_mask(heat, 1.0).dtype == np.uint8


def test_mask_is_strictly_above_a_quarter_of_the_max():
    heat = np.array([[4.0, 1.0], [1.0, 0.5]])  # τ = 1: the ones are not above it
    np.testing.assert_array_equal(occlusion_mask(heat, 1.0), [[0, 1], [1, 1]])


def test_mask_ties_go_in_row_major_order():
    heat = np.zeros((3, 3))
    heat[0, 2] = heat[1, 0] = heat[2, 1] = 1.0  # three equal values
    np.testing.assert_array_equal(occlusion_mask(heat, 0.34), [[1, 1, 0], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(occlusion_mask(heat, 0.6), [[1, 1, 0], [0, 1, 1], [1, 1, 1]])


def test_mask_count_is_floor_p_n_plus_half():
    assert [int(occluded_count(p, 5)) for p in np.linspace(0, 1, 11)] == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert int(occluded_count(0.5, 3)) == 2 and int(occluded_count(0.1, 4)) == 0
    heat = np.arange(25, dtype=float).reshape(5, 5)  # τ = 6: N = 18 positions above it
    for p in np.linspace(0, 1, 11):
        assert (occlusion_mask(heat, p) == 0).sum() == int(np.floor(p * 18 + 0.5 + 1e-9))


def test_all_zero_map_occludes_nothing():
    assert occlusion_mask(np.zeros((8, 8)), 1.0).min() == 1


def test_bad_masks_are_refused():
    with pytest.raises(InspectorError, match="p must be within"):
        occlusion_mask(np.ones((4, 4)), 1.5)
    with pytest.raises(InspectorError, match="NaN"):
        occlusion_mask(np.full((4, 4), np.nan), 0.5)
    with pytest.raises(InspectorError, match="H×W"):
        occlusion_mask(np.ones(4), 0.5)


def test_batched_ranks_agree_with_the_reference_mask():
    rng = np.random.default_rng(1)
    maps = rng.integers(0, 5, (4, 12, 12)).astype(np.float32)  # many ties
    maps[3] = 0.0
    ranks, ns = occlusion_ranks(torch.from_numpy(maps))
    for b in range(4):
        for p in np.linspace(0, 1, 11):
            k = int(occluded_count(p, int(ns[b])))
            np.testing.assert_array_equal((ranks[b] >= k).numpy().astype(np.uint8), occlusion_mask(maps[b], p))


# -- Grad-CAM ----------------------------------------------------------------------------------


def _manual_gradcam(model, x1, x2, target):
    """Reference maps straight from the definition, via encode/fuse (stage outputs are the cam layers)."""
    with torch.enable_grad():
        f1, f2 = model.encode(0, x1), model.encode(1, x2)
        y = model.fuse(f1, f2)[0, target]
        grads = torch.autograd.grad(y, f1 + f2)
    maps = []
    for a, g in zip(f1 + f2, grads):
        cam = F.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True))
        maps.append(F.interpolate(cam, size=x1.shape[2:], mode="bilinear", align_corners=False)[0, 0])
    return torch.stack(maps).view(2, 4, *x1.shape[2:]).detach().numpy()


def _tensor(view):
    return torch.from_numpy(view).permute(2, 0, 1)[None].float() / 255


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def test_maps_match_captum_layer_gradcam_on_the_shipped_model(model, samples):
    captum = pytest.importorskip("captum.attr")
    for s in samples[:3]:
        e = explain_pair(model, s.view1, s.view2)
        x1, x2 = _tensor(s.view1), _tensor(s.view2)
        for v in (0, 1):
            for j, layer in enumerate(model.cam_layers()[v]):
                attr = captum.LayerGradCam(model, layer).attribute((x1, x2), target=e.target, relu_attributions=True)
                ref = captum.LayerAttribution.interpolate(attr, (128, 128), interpolate_mode="bilinear")
                assert _rel(e.cams[v, j], ref[0, 0].detach().numpy()) <= 1e-4, (v, j)


def test_shared_branch_gets_a_map_per_view():
    torch.manual_seed(0)
    shared = MVFN(ArchConfig(shared_branches=True)).eval()
    x1, x2 = torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128)
    ref = _manual_gradcam(shared, x1, x2, 0)
    assert _rel(ref[0], ref[1]) > 0.05  # the two views really differ
    for fold in (False, True):
        e = GradCAM(shared, fold_bn=fold).explain(x1[0].permute(1, 2, 0).numpy(), x2[0].permute(1, 2, 0).numpy(),
                                                   target=0)
        assert _rel(e.cams, ref) <= 1e-4

    class WholeOnly(nn.Module):  # no encode/fuse: the engine must tell the calls apart by order
        def __init__(self, inner):
            super().__init__()
            self.inner, self.classes = inner, inner.classes

        def forward(self, a, b):
            return self.inner(a, b)

        def cam_layers(self):
            return self.inner.cam_layers()

    e = GradCAM(WholeOnly(shared), fold_bn=False).explain(
        x1[0].permute(1, 2, 0).numpy(), x2[0].permute(1, 2, 0).numpy(), target=0
    )
    assert _rel(e.cams, ref) <= 1e-4

    captum = pytest.importorskip("captum.attr")
    layer = shared.cam_layers()[0][3]
    wrong = captum.LayerGradCam(shared, layer).attribute((x1, x2), target=0, relu_attributions=True)
    wrong = captum.LayerAttribution.interpolate(wrong, (128, 128), interpolate_mode="bilinear")[0, 0].detach().numpy()
    # captum hooks the shared layer once and mixes up the two calls: its one map is not view 1's,
    # and nothing warns.
    assert _rel(wrong, ref[0, 3]) > 0.05


# -- a constructed model whose evidence is known --------------------------------------------------


def _blob_pair():
    view = np.full((64, 64, 3), 0.1, np.float32)
    view[20:44, 20:44] = 1.0
    return view, view.copy()


@pytest.mark.parametrize("view, sign, influence", [(1, 1, "camera 2"), (0, -1, "camera 1")])
def test_m_sign_convention(view, sign, influence):
    a, b = _blob_pair()
    e = explain_pair(Brightness(view), a, b, target="bright")
    assert np.sign(e.m) == sign and e.influence == influence
    ignored = 1 - view
    assert e.occludable[ignored] == 0 and any("all zero" in n for n in e.notes)
    np.testing.assert_allclose(e.curves[1 + ignored], e.probs[0])  # masking nothing changes nothing
    assert e.curves[1 + view][-1] < e.curves[1 + view][0] - 0.3  # masking the bright blob drops the class


def test_influence_bands():
    assert influence_of(0.0199) == "equal" and influence_of(-0.0199) == "equal"
    assert influence_of(0.02) == "camera 2" and influence_of(-0.02) == "camera 1"


# -- the engine on the shipped model ------------------------------------------------------------


def _brute_force_curves(model, e, view1, view2):
    """The three curves by the book: one mask per point from occlusion_mask, one forward each."""
    x1, x2 = _tensor(view1), _tensor(view2)
    out = np.zeros((3, len(e.p)))
    with torch.no_grad():
        for i, p in enumerate(e.p):
            m1p, m1q = occlusion_mask(e.cams[0, 3], p), occlusion_mask(e.cams[0, 3], 1 - p)
            m2p = occlusion_mask(e.cams[1, 3], p)
            t = lambda m: torch.from_numpy(m).float()[None, None]
            for c, (a, b) in enumerate([(x1 * t(m1q), x2 * t(m2p)), (x1 * t(m1p), x2), (x1, x2 * t(m2p))]):
                out[c, i] = torch.softmax(model(a, b), 1)[0, e.target]
    return out


def test_explanation_contract_and_curves_by_the_book(model, samples):
    for s in samples[:3]:
        e = explain_pair(model, s.view1, s.view2)
        assert e.cams.shape == (2, 4, 128, 128) and e.cams.dtype == np.float32 and e.cams.min() >= 0
        assert e.p.shape == (11,) and e.curves.shape == (3, 11)
        assert e.probs.shape == (3,) and abs(e.probs.sum() - 1) < 1e-5
        assert e.target == e.predicted
        assert [m.shape for m in e.stage_maps[0]] == [(64, 64), (32, 32), (16, 16), (8, 8)]
        np.testing.assert_allclose(_brute_force_curves(model, e, s.view1, s.view2), e.curves, atol=2e-5)
        assert e.curves[1, 0] == e.curves[2, 0] == pytest.approx(e.probs[e.target])
        assert e.m == pytest.approx(np.mean(e.curves[1] - e.curves[2]))
        assert e.influence == influence_of(e.m)
        # 33 points, 4 known: 29 fusion passes; each view's branch once per distinct mask (10 each).
        assert e.timings["curve_evaluations"] <= 29 and e.timings["branch_passes"] <= 20


def test_target_class_by_name(model, samples):
    s = samples[0]
    e = explain_pair(model, s.view1, s.view2, target="missing")
    assert e.target == 1 and e.target_name == "missing"
    assert e.curves[1, 0] == pytest.approx(e.probs[1])


def test_batch_equals_one_by_one(model, samples):
    v1 = np.stack([s.view1 for s in samples])
    v2 = np.stack([s.view2 for s in samples])
    batch = explain_batch(model, v1, v2, batch=4)
    for s, b in zip(samples, batch):
        one = explain_pair(model, s.view1, s.view2)
        np.testing.assert_allclose(b.cams, one.cams, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b.curves, one.curves, atol=1e-5)
        assert b.influence == one.influence


def test_folded_and_unfolded_agree(model, samples):
    s = samples[1]
    a = GradCAM(model, fold_bn=True).explain(s.view1, s.view2)
    b = GradCAM(model, fold_bn=False).explain(s.view1, s.view2)
    assert _rel(a.cams, b.cams) <= 1e-4
    np.testing.assert_allclose(a.curves, b.curves, atol=1e-4)


def test_hooks_removed_mode_and_grads_restored_even_when_the_model_raises(model, samples):
    s = samples[0]
    net = MVFN().train()
    flags = [p.requires_grad for p in net.parameters()]
    GradCAM(net, fold_bn=False).explain(s.view1, s.view2)
    assert net.training and [p.requires_grad for p in net.parameters()] == flags
    assert all(p.grad is None for p in net.parameters())
    assert all(not m._forward_hooks for m in net.modules())

    class Broken(MVFN):
        def fuse(self, f1, f2):
            raise RuntimeError("fusion failed")

    broken = Broken().eval()
    with pytest.raises(RuntimeError, match="fusion failed"):
        GradCAM(broken, fold_bn=False).explain(s.view1, s.view2)
    assert all(not m._forward_hooks for m in broken.modules())
    assert not broken.training


def test_repeated_calls_do_not_keep_tensors(model, samples):
    s = samples[0]
    ex = GradCAM(model)
    ex.explain(s.view1, s.view2)

    def live_tensors():
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))

    before = live_tensors()
    for _ in range(10):
        ex.explain(s.view1, s.view2)
    assert live_tensors() <= before


@pytest.mark.parametrize(
    "v1, v2, message",
    [
        (np.zeros((128, 128), np.uint8), None, "view 1: expected H×W×3"),
        (np.zeros((128, 128, 3), np.int16), None, "view 1: pixels must be uint8 or float"),
        (np.full((128, 128, 3), 2.0, np.float32), None, r"view 1: float images must lie in \[0, 1\]"),
        (np.full((128, 128, 3), np.nan, np.float32), None, "view 1: contains NaN"),
        (np.zeros((96, 96, 3), np.uint8), None, "view 1: images are 96×96 but the model takes 128×128"),
        (None, np.zeros((128, 128, 3), np.float64) - 1, r"view 2: float images must lie in \[0, 1\]"),
    ],
)
def test_bad_views_are_refused(model, v1, v2, message):
    ok = np.zeros((128, 128, 3), np.uint8)
    with pytest.raises(InspectorError, match=message):
        explain_pair(model, ok if v1 is None else v1, ok if v2 is None else v2)


def test_bad_target_and_grid(model):
    ok = np.zeros((128, 128, 3), np.uint8)
    with pytest.raises(InspectorError, match="'broken' is not one of the model's classes"):
        explain_pair(model, ok, ok, target="broken")
    with pytest.raises(InspectorError, match="p must be a non-empty grid"):
        explain_pair(model, ok, ok, p=[0.0, 1.2])


# -- the benchmark's baseline is the same method ---------------------------------------------------


def test_naive_baseline_computes_the_same_curves(model, samples):
    pytest.importorskip("captum")
    from inspector.bench.explain import method_flops, naive_explain

    s = samples[2]
    e = explain_pair(model, s.view1, s.view2)
    naive = naive_explain(model, _tensor(s.view1), _tensor(s.view2), e.p)
    np.testing.assert_allclose(naive, e.curves, atol=1e-4)
    flops = method_flops(model, _tensor(s.view1), _tensor(s.view2), len(e.p))
    assert flops["gradcam"] > flops["forward"] > 0
    assert flops["points"] == 29 and flops["total"] > flops["total_reuse"] > 15 * flops["forward"]


def test_single_view_baseline_is_explained_with_an_empty_other_view(samples):
    from inspector.model import SingleViewNet

    torch.manual_seed(0)
    net = SingleViewNet(ArchConfig(arch="single-view", view=0)).eval()
    s = samples[0]
    e = explain_pair(net, s.view1, s.view2)
    assert e.cams[1].max() == 0 and e.occludable[1] == 0
    assert any(n.startswith("camera 2: the stage-4 map is all zero") for n in e.notes)
    np.testing.assert_allclose(e.curves[2], e.probs[e.target], atol=1e-6)  # nothing of camera 2 to mask
    assert e.cams[0, 3].max() > 0


def test_curves_for_some_pairs_only_leave_the_rest_unchanged(model, samples):
    """The pipeline's `--curves nok`: pairs without curves keep their maps and probabilities."""
    ex = GradCAM(model)
    v1 = np.stack([s.view1 for s in samples[:4]])
    v2 = np.stack([s.view2 for s in samples[:4]])
    full = ex.explain_batch(v1, v2)
    some = ex.explain_batch(v1, v2, curves=[True, False, True, False])
    by_rule = ex.explain_batch(v1, v2, curves=lambda probs: probs.argmax(1) != 0)
    for i, (a, b) in enumerate(zip(full, some)):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)
        np.testing.assert_allclose(a.cams, b.cams, rtol=1e-5, atol=1e-6)
        if i % 2 == 0:
            np.testing.assert_allclose(a.curves, b.curves, atol=1e-5)
            assert a.m == pytest.approx(b.m, abs=1e-5) and a.influence == b.influence
        else:
            assert np.isnan(b.curves).all() and np.isnan(b.m) and b.influence == "none"
            assert (b.curve_predictions == -1).all()
    for a, c in zip(full, by_rule):
        assert np.isfinite(c.m) == (a.predicted != 0)
    with pytest.raises(InspectorError, match="one flag per pair"):
        ex.explain_batch(v1, v2, curves=[True, False])
