"""The fill of the masked pixels (issue 19, deliverable 2): zero stays the paper's and the default; road
imputes from the neighbours (known pixels untouched, deterministic); mean is the model's normalisation
mean; every record says which fill made its curves, old logs read as zero; a bad --fill is one line."""

import dataclasses

import h5py
import numpy as np
import pytest
import torch

from cli_support import refused_by_argparse, run
from inspector.errors import InspectorError
from inspector.explain import GradCAM
from inspector.explain.curves import MaskedInputs
from inspector.explain.fills import _WEIGHTS, _neighbour_mean, impute_linear, impute_road, noise_field
from inspector.pipeline import Pipeline, PipelineConfig, PipelineError
from inspector.records import RecordReader, RecordWriter, RecordsError
from records_support import LAYOUT, make_record


def smooth_images(b=2, h=40, w=48):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    x = torch.stack([0.2 + 0.6 * yy, 0.8 - 0.5 * xx, 0.5 + 0.3 * torch.sin(5 * xx * yy)])
    return x.expand(b, 3, h, w).clone()


def hole(b=2, h=40, w=48):
    keep = torch.ones((b, 1, h, w), dtype=torch.bool)
    keep[:, :, 8:30, 10:36] = False
    keep[1, :, 0:5, 40:] = False  # one touching the border
    return keep


def test_road_imputes_neighbour_consistent_values_and_leaves_known_pixels_alone():
    x, keep = smooth_images(), hole()
    linear = impute_linear(x, keep)
    kernel = _WEIGHTS.to(x.dtype).view(1, 1, 3, 3)
    norm = _neighbour_mean(torch.ones((1, 1) + x.shape[2:]), kernel, 1.0)
    removed = ~keep.expand_as(x)
    residual = (_neighbour_mean(linear, kernel, norm) - linear)[removed]
    assert residual.abs().max() < 2e-3  # each removed pixel ≈ the weighted mean of its neighbours
    # a smooth image is recovered closely: nothing like the black (zero) fill
    assert (linear - x)[removed].abs().mean() < 0.03 and linear[removed].min() > 0.1
    noise = noise_field(x.shape[1:], 0, device=x.device, dtype=x.dtype)
    road = impute_road(x, keep, noise)
    assert torch.equal(road[~removed], x[~removed])
    assert 0.002 < (road - linear)[removed].std() < 0.02  # ROAD's small noise
    assert road.min() >= 0 and road.max() <= 1
    assert torch.equal(road, impute_road(x.clone(), keep.clone(), noise_field(x.shape[1:], 0, device=x.device,
                                                                              dtype=x.dtype)))


def test_masked_copies_per_fill_on_the_shipped_model(model):
    x = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    ranks = torch.randperm(128 * 128, generator=torch.Generator().manual_seed(1)).view(1, 128, 128).expand(2, -1, -1)
    ranks = ranks.to(torch.int32)
    rows, k = torch.tensor([0, 1]), torch.tensor([3000, 500])
    keep = (ranks[rows] >= k.view(-1, 1, 1)).unsqueeze(1).expand(-1, 3, -1, -1)
    for prenormalise in (True, False):
        zero = MaskedInputs(model, 0, x, ranks, prenormalise).masked(rows, k)
        mean = MaskedInputs(model, 0, x, ranks, prenormalise, fill="mean").masked(rows, k)
        road = MaskedInputs(model, 0, x, ranks, prenormalise, fill="road").masked(rows, k)
        if prenormalise:
            assert torch.equal(zero[~keep], model.normalise(torch.zeros_like(x))[~keep])
            assert torch.allclose(mean[~keep], torch.zeros(()), atol=1e-6)  # the normalised zero
            raw_road = road * model.std + model.mean
        else:
            assert torch.equal(zero, x * keep)  # the paper's I ⊙ M
            assert torch.equal(mean[~keep], model.mean.expand_as(x)[~keep])
            raw_road = road
        assert torch.allclose(raw_road[keep], x[keep], atol=1e-5)
        assert raw_road[~keep].min() >= -1e-5 and raw_road[~keep].mean() > 0.3  # imputed, not black


def test_the_default_is_zero_and_road_is_deterministic_whatever_the_batch(model, samples):
    v1 = np.stack([s.view1 for s in samples[:2]])
    v2 = np.stack([s.view2 for s in samples[:2]])
    assert GradCAM(model).fill == "zero" and GradCAM(model).explain(v1[0], v2[0]).fill == "zero"
    road = GradCAM(model, fill="road")
    grid = [0.0, 0.5, 1.0]  # a short grid: the same behaviour for a third of the masked copies
    a = road.explain_batch(v1, v2, p=grid)
    b = road.explain_batch(v1[1:], v2[1:], p=grid)
    assert [e.fill for e in a] == ["road"] * 2
    for e, f in zip(a[1:], b):
        np.testing.assert_allclose(e.curves, f.curves, atol=1e-5)
    zero = GradCAM(model).explain_batch(v1, v2, p=grid)
    from inspector.explain import explain_pair

    one = explain_pair(model, v1[0], v2[0], p=grid, fill="road")  # the one-call form takes the fill too
    assert one.fill == "road"
    np.testing.assert_allclose(one.curves, a[0].curves, atol=1e-5)
    assert any(not np.allclose(e.curves, z.curves) for e, z in zip(a, zero))
    with pytest.raises(InspectorError, match="fill must be one of zero, road, mean"):
        GradCAM(model, fill="grey")


def test_every_record_says_its_fill_and_old_logs_read_as_zero(tmp_path):
    with RecordWriter(tmp_path / "old.h5", LAYOUT) as w:
        w.append(make_record(0))
    with h5py.File(tmp_path / "old.h5", "r+") as f:
        del f.attrs["fill"]  # as every log made before the fill was recorded
    with RecordReader(tmp_path / "old.h5") as r:
        assert r.layout.fill == "zero" and r[0].fill == "zero"
    road = dataclasses.replace(LAYOUT, fill="road")
    with RecordWriter(tmp_path / "road.h5", road) as w:
        w.append(dataclasses.replace(make_record(1), fill="road"))
        with pytest.raises(RecordsError, match="a change of fill starts a new log"):
            w.append(make_record(2))
    with RecordReader(tmp_path / "road.h5") as r:
        assert len(r) == 1 and r[0].fill == "road"
    from inspector.evaluation.record_export import record_dict

    with RecordReader(tmp_path / "road.h5") as r:
        assert record_dict(r, 0)["fill"] == "road"


def test_the_pipeline_logs_its_fill(model, tmp_path):
    from plugins.simulator_source import SimulatorSource

    out = tmp_path / "road.h5"
    from calibration import load_default_rig

    rig = load_default_rig()
    Pipeline(SimulatorSource(rate=0, count=1, seed=3, hidden_share=1.0), model, rig=rig, out=out,
             config=PipelineConfig(fill="road", curves="all", keep_all=True)).run()
    with RecordReader(out) as r:
        assert r.layout.fill == "road" and r[0].fill == "road" and np.isfinite(r[0].m)
    with pytest.raises(PipelineError, match="fill"):
        Pipeline(SimulatorSource(rate=0, count=1), model, rig=rig, explainer=GradCAM(model),
                 config=PipelineConfig(fill="mean"))
    with pytest.raises(PipelineError, match="fill must be one of"):
        PipelineConfig(fill="grey").check()


@pytest.mark.parametrize("command", [["explain", "a.png", "b.png"], ["study", "--out", "s"], ["run"]])
def test_a_bad_fill_is_one_line_and_exit_2(command, tmp_path):
    r = run(*command, "--fill", "grey", cwd=tmp_path)
    refused_by_argparse(r, "--fill", "invalid choice: 'grey'")
    assert list(tmp_path.iterdir()) == []


def test_explainers_start_with_a_fill_keyword_only_when_it_is_not_the_default():
    from inspector.fill_names import fill_option

    # an explainer plugin that knows no fills still starts with the paper's
    assert fill_option("zero") == {} and fill_option("road") == {"fill": "road"}
    with pytest.raises(InspectorError, match="fill must be one of"):
        fill_option("grey")


def test_a_fill_with_the_explainer_comparison_is_refused_in_one_line(tmp_path):
    from cli_support import refused

    r = run("study", "--explainers", "gradcam,rise", "--fill", "road", "--out", "s", cwd=tmp_path)
    refused(r, "--fill", "--explainers", command="study")
    assert list(tmp_path.iterdir()) == []
