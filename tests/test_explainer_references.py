"""The explainers against independent references: the reference libraries on the shipped model, and
each formula computed by hand on a tiny model.

Parity references. torchcam 0.5.0 installs without torchvision and is the reference for
Grad-CAM, XGrad-CAM, LayerCAM and Score-CAM (per view, through a one-input wrapper that
holds the other view fixed, on the shipped model whose branches are separate; its maps
resized as ours, bilinear with align_corners=False). captum's LayerGradientXActivation
(G ⊙ A) is the reference for HiResCAM. pytorch-grad-cam 1.5.7 cannot be imported here:
its package imports torchvision (utils/image.py, utils/model_targets.py) and ttach, and
torchvision does not install beside this CPU build of torch; so Grad-CAM++ (its closed
form, which torchcam does not compute: torchcam's in-place division of α acts on a copy,
leaving α = G²) is checked against the formula computed by hand in float64 on a tiny
two-branch model, as are HiResCAM, XGrad-CAM and LayerCAM, to 1e-5.
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from inspector.explain import RISE
from inspector.explain.rise import rise_masks

from explain_models import Tiny, hwc, rel, start, tensor


# -- parity with the reference libraries on the shipped model ---------------------------------------


class OneView(nn.Module):
    """The MVFN as a one-input model of view `view`, the other view held fixed (for torchcam)."""

    def __init__(self, net, view, other):
        super().__init__()
        self.net, self.view = net, view
        self.register_buffer("other", other)

    def forward(self, x):
        o = self.other.expand(x.shape[0], -1, -1, -1)
        return self.net(x, o) if self.view == 0 else self.net(o, x)


@pytest.mark.parametrize("name, method", [("gradcam", "GradCAM"), ("xgradcam", "XGradCAM"),
                                          ("layercam", "LayerCAM"), ("scorecam", "ScoreCAM")])
def test_maps_match_torchcam(model, samples, name, method):
    methods = pytest.importorskip("torchcam.methods")
    s = samples[1]
    e = start(name, model).explain(s.view1, s.view2)
    x = (tensor(s.view1), tensor(s.view2))
    for v in (0, 1):
        wrapper = OneView(model, v, x[1 - v])
        with getattr(methods, method)(wrapper, list(model.cam_layers()[v])) as extractor:
            if method == "ScoreCAM":
                with torch.no_grad():
                    wrapper(x[v])
                maps = extractor(class_idx=e.target, normalized=False)
            else:
                maps = extractor(class_idx=e.target, scores=wrapper(x[v]), normalized=False)
        for j, m in enumerate(maps):
            ref = F.interpolate(m[:, None].detach(), size=(128, 128), mode="bilinear", align_corners=False)[0, 0]
            assert rel(e.cams[v, j], ref.numpy()) <= 1e-4, (v, j)


def test_hirescam_matches_captum_gradient_x_activation(model, samples):
    captum = pytest.importorskip("captum.attr")
    s = samples[2]
    e = start("hirescam", model).explain(s.view1, s.view2)
    x = (tensor(s.view1), tensor(s.view2))
    for v in (0, 1):
        for j, layer in enumerate(model.cam_layers()[v]):
            gxa = captum.LayerGradientXActivation(model, layer).attribute(x, target=e.target)
            ref = F.interpolate(F.relu(gxa.sum(1, keepdim=True)), size=(128, 128), mode="bilinear",
                                align_corners=False)[0, 0].detach().numpy()
            assert rel(e.cams[v, j], ref) <= 1e-4, (v, j)


def test_torchcam_gradcampp_is_not_the_closed_form(model, samples):
    """Why Grad-CAM++ has no library reference here: torchcam 0.5.0's α stays G² (its division acts on
    a boolean-indexed copy); the closed form divides by 2G² + ΣA·G³."""
    methods = pytest.importorskip("torchcam.methods")
    s = samples[1]
    e = start("gradcampp", model).explain(s.view1, s.view2)
    x = (tensor(s.view1), tensor(s.view2))
    wrapper = OneView(model, 0, x[1])
    with methods.GradCAMpp(wrapper, [model.cam_layers()[0][3]]) as extractor:
        theirs = extractor(class_idx=e.target, scores=wrapper(x[0]), normalized=False)[0][0].detach().numpy()
    with torch.enable_grad():
        f1, f2 = model.encode(0, x[0]), model.encode(1, x[1])
        a = f1[3]
        g = torch.autograd.grad(model.fuse(f1, f2)[0, e.target], a)[0]
    squared = F.relu(((g**2 * F.relu(g)).sum((2, 3), keepdim=True) * a).sum(1))[0].detach().numpy()
    assert rel(theirs, squared) <= 1e-5
    assert rel(e.stage_maps[0][3] / e.stage_maps[0][3].max(), theirs / theirs.max()) > 0.01


# -- hand-computed references on a tiny two-branch model --------------------------------------------


def _by_hand(name, a, g):
    """The formula in float64 numpy for one layer: a, g (K, h, w) → (h, w)."""
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    if name == "hirescam":
        return relu((g * a).sum(0))
    if name == "layercam":
        return relu((relu(g) * a).sum(0))
    total = a.sum(axis=(1, 2), keepdims=True)
    if name == "xgradcam":
        w = (g * a / (total + 1e-7)).sum(axis=(1, 2), keepdims=True)
    else:  # gradcampp, pytorch-grad-cam's closed form
        alpha = g**2 / (2 * g**2 + total * g**3 + 1e-6)
        alpha = np.where(g != 0, alpha, 0.0)
        w = (relu(g) * alpha).sum(axis=(1, 2), keepdims=True)
    return relu((w * a).sum(0))


@pytest.mark.parametrize("name", ["hirescam", "gradcampp", "xgradcam", "layercam"])
def test_gradient_family_equals_the_formula_by_hand(name):
    net = Tiny().eval()
    g = torch.Generator().manual_seed(5)
    x1, x2 = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    e = start(name, net).explain(hwc(x1), hwc(x2))
    with torch.enable_grad():
        f1, f2 = net.encode(0, x1), net.encode(1, x2)
        grads = torch.autograd.grad(net.fuse(f1, f2)[0, e.target], f1 + f2)
    for i, (a, gr) in enumerate(zip(f1 + f2, grads)):
        ref = _by_hand(name, a[0].detach().double().numpy(), gr[0].double().numpy())
        assert ref.max() > 0
        assert rel(e.stage_maps[i // 4][i % 4], ref) <= 1e-5, (name, i)


def test_scorecam_equals_its_definition_by_hand():
    net = Tiny().eval()
    g = torch.Generator().manual_seed(6)
    x = (torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g))
    e = start("scorecam", net).explain(hwc(x[0]), hwc(x[1]))
    with torch.no_grad():
        feats = (net.encode(0, x[0]), net.encode(1, x[1]))
        base = float(net(*x)[0, e.target])
        for v in (0, 1):
            for j, a in enumerate(feats[v]):
                scores = []
                for k in range(a.shape[1]):
                    ch = a[:, k:k + 1]
                    ch = (ch - ch.min()) / (ch.max() - ch.min() + 1e-8)
                    masked = x[v] * F.interpolate(ch, size=(16, 16), mode="bilinear", align_corners=False)
                    pair = (masked, x[1]) if v == 0 else (x[0], masked)
                    scores.append(float(net(*pair)[0, e.target]) - base)
                w = np.exp(np.array(scores) - max(scores))
                w /= w.sum()
                ref = np.maximum((w[:, None, None] * a[0].double().numpy()).sum(0), 0)
                assert rel(e.stage_maps[v][j], ref) <= 1e-5, (v, j)


def test_rise_equals_its_definition_by_hand():
    net = Tiny().eval()
    g = torch.Generator().manual_seed(7)
    x = (torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g))
    ex = RISE(net, masks=40, cells=4, keep=0.5, seed=3, chunk=7)
    e = ex.explain(hwc(x[0]), hwc(x[1]))
    masks = rise_masks(40, (16, 16), cells=4, keep=0.5, seed=3)
    assert masks.min() >= 0 and masks.max() <= 1 and 0.3 < float(masks.mean()) < 0.7
    with torch.no_grad():
        for v in (0, 1):
            ref = np.zeros((16, 16))
            for m in masks:
                pair = (x[0] * m, x[1]) if v == 0 else (x[0], x[1] * m)
                ref += float(torch.softmax(net(*pair), 1)[0, e.target]) * m.double().numpy()
            ref /= 40 * 0.5
            assert rel(e.cams[v, 0], ref) <= 1e-5
