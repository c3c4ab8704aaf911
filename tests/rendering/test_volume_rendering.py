import math

import pytest
import torch

from giraffehd.rendering.ray_sampling import sample_depths
from giraffehd.rendering.volume_rendering import render_rays, sample_weights


@pytest.mark.parametrize("num_samples", [1, 7, 64])
@pytest.mark.parametrize("sigma", [0.1, 2.0, 30.0])
def test_constant_density_gives_closed_form_alpha(num_samples, sigma):
    length = 1.5
    samples = sample_depths(torch.tensor([2.0]), torch.tensor([2.0 + length]), num_samples)
    density = torch.full((1, num_samples), sigma)
    out = render_rays(density, torch.ones(1, num_samples, 1), samples.depths, samples.deltas)
    assert out.alpha.item() == pytest.approx(1 - math.exp(-sigma * length), rel=1e-5)
    assert out.features.item() == pytest.approx(out.alpha.item(), rel=1e-5)


def test_one_opaque_sample_takes_all_the_weight():
    density = torch.tensor([[0.0, 0.0, 1e6, 5.0, 1e6]])
    depths = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    features = torch.arange(10.0).reshape(1, 5, 2)
    out = render_rays(density, features, depths, torch.full((1, 5), 0.1))
    torch.testing.assert_close(out.weights, torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]]))
    torch.testing.assert_close(out.features, torch.tensor([[4.0, 5.0]]))
    assert out.depth.item() == pytest.approx(3.0)
    assert out.alpha.item() == pytest.approx(1.0)


def test_two_samples_by_hand():
    a, b = 0.3, 1.1  # optical depths sigma * delta of the two samples
    out = render_rays(
        torch.tensor([[a, b]]), torch.tensor([[[1.0], [10.0]]]), torch.tensor([[1.0, 2.0]]), torch.ones(1, 2)
    )
    w1, w2 = 1 - math.exp(-a), math.exp(-a) * (1 - math.exp(-b))
    torch.testing.assert_close(out.weights, torch.tensor([[w1, w2]]))
    assert out.features.item() == pytest.approx(w1 + 10 * w2, rel=1e-6)
    assert out.depth.item() == pytest.approx((w1 + 2 * w2) / (w1 + w2), rel=1e-6)


def test_weights_are_nonnegative_and_sum_to_at_most_one():
    g = torch.Generator().manual_seed(0)
    density = torch.rand(256, 32, generator=g) * torch.rand(256, 1, generator=g) * 50
    weights = sample_weights(density, torch.rand(256, 32, generator=g) * 0.2)
    assert torch.all(weights >= 0)
    assert torch.all(weights.sum(-1) <= 1 + 1e-6)


def test_empty_rays_render_nothing_with_finite_gradients():
    density = torch.zeros(3, 8, requires_grad=True)
    features = torch.rand(3, 8, 4, requires_grad=True)
    out = render_rays(density, features, torch.rand(3, 8), torch.full((3, 8), 0.1))
    assert torch.all(out.alpha == 0) and torch.all(out.depth == 0) and torch.all(out.features == 0)
    (out.features.sum() + out.depth.sum()).backward()
    assert torch.isfinite(density.grad).all() and torch.isfinite(features.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_an_opaque_last_interval_closes_the_ray(dtype):
    # The background pass ends in a 1e10-long interval (an opaque far wall): every ray is fully covered,
    # so the weights sum to exactly what one opaque sample can take, 1.
    g = torch.Generator().manual_seed(1)
    density = (torch.rand(64, 4, generator=g) * 3).to(dtype)
    deltas = torch.cat([torch.full((64, 3), 0.5), torch.full((64, 1), 1e10)], dim=-1).to(dtype)
    weights = sample_weights(density + 0.1, deltas)
    torch.testing.assert_close(weights.sum(-1), torch.ones(64, dtype=dtype), atol=1e-6, rtol=0)


def test_float32_weights_match_float64_over_a_wide_range_of_intervals():
    g = torch.Generator().manual_seed(2)
    deltas = 10 ** (torch.rand(512, 16, generator=g, dtype=torch.float64) * 13 - 3)  # 1e-3 .. 1e10
    density = torch.rand(512, 16, generator=g, dtype=torch.float64) * 5
    exact = sample_weights(density, deltas)
    approx = sample_weights(density.float(), deltas.float())
    torch.testing.assert_close(approx.double(), exact, atol=1e-6, rtol=0)
