import math

import pytest
import torch

from giraffehd.rendering.compositing import composite_entities, composite_images, merge_entity_samples, steepen_mask
from giraffehd.rendering.ray_sampling import sample_depths
from giraffehd.rendering.volume_rendering import render_rays


def _entities(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    density = torch.rand(2, n, 5, 8, generator=g) * 4
    features = torch.rand(2, n, 5, 8, 3, generator=g)
    depths = torch.sort(torch.rand(2, n, 5, 8, generator=g) * 4 + 1, dim=-1).values
    deltas = torch.rand(2, n, 5, 8, generator=g) * 0.2
    return density, features, depths, deltas


def test_composite_of_one_entity_is_the_identity():
    density, features, _, _ = _entities(1)
    density[0, 0, 0, :3] = 0  # includes empty samples
    out = composite_entities(density, features)
    torch.testing.assert_close(out.density, density[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(out.features, features[:, 0], rtol=0, atol=0)


def test_two_entities_by_hand():
    density = torch.tensor([1.0, 3.0]).reshape(1, 2, 1, 1)
    features = torch.tensor([[2.0, 0.0], [6.0, 4.0]]).reshape(1, 2, 1, 1, 2)
    out = composite_entities(density, features)
    assert out.density.item() == 4.0
    torch.testing.assert_close(out.features.reshape(2), torch.tensor([5.0, 3.0]))


def test_zero_density_entity_changes_nothing():
    density, features, depths, deltas = _entities(2)
    with_empty = torch.cat([density, torch.zeros_like(density[:, :1])], dim=1)
    features_empty = torch.cat([features, torch.rand_like(features[:, :1])], dim=1)
    shared_depths, shared_deltas = depths[:, 0], deltas[:, 0]
    before = composite_entities(density, features)
    after = composite_entities(with_empty, features_empty)
    r0 = render_rays(before.density, before.features, shared_depths, shared_deltas)
    r1 = render_rays(after.density, after.features, shared_depths, shared_deltas)
    torch.testing.assert_close(r1.features, r0.features)
    torch.testing.assert_close(r1.alpha, r0.alpha)
    # The same holds for entities sampled at their own depths and merged.
    m0 = merge_entity_samples(depths, deltas, density, features)
    depths_empty = torch.cat([depths, torch.rand_like(depths[:, :1]) * 6], dim=1)
    deltas_empty = torch.cat([deltas, torch.rand_like(deltas[:, :1])], dim=1)
    m1 = merge_entity_samples(depths_empty, deltas_empty, with_empty, features_empty)
    r0 = render_rays(m0.density, m0.features, m0.depths, m0.deltas)
    r1 = render_rays(m1.density, m1.features, m1.depths, m1.deltas)
    torch.testing.assert_close(r1.features, r0.features)
    torch.testing.assert_close(r1.depth, r0.depth)


def test_composite_gradients_are_finite_where_everything_is_empty():
    density = torch.zeros(1, 3, 4, 6, requires_grad=True)
    features = torch.rand(1, 3, 4, 6, 2, requires_grad=True)
    composite_entities(density, features).features.sum().backward()
    assert torch.isfinite(density.grad).all() and torch.isfinite(features.grad).all()


def test_merged_samples_are_sorted_and_keep_their_entity():
    density, features, depths, deltas = _entities(3)
    merged = merge_entity_samples(depths, deltas, density, features)
    assert merged.depths.shape == (2, 5, 24)
    assert torch.all(merged.depths[..., 1:] >= merged.depths[..., :-1])
    # Every merged sample is found in its entity with the same depth and feature.
    b, r, m = 1, 3, 17
    entity = merged.entity[b, r, m]
    index = (depths[b, entity, r] == merged.depths[b, r, m]).nonzero()[0, 0]
    torch.testing.assert_close(features[b, entity, r, index], merged.features[b, r, m])
    assert density[b, entity, r, index] == merged.density[b, r, m]


def test_merged_overlapping_entities_add_their_densities():
    sigma_1, sigma_2, length = 0.8, 2.5, 1.0
    num_samples = 512
    samples = sample_depths(torch.ones(1, 2, 1), torch.full((1, 2, 1), 1.0 + length), num_samples)
    density = torch.tensor([sigma_1, sigma_2]).reshape(1, 2, 1, 1).expand(1, 2, 1, num_samples)
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).reshape(1, 2, 1, 1, 2).expand(1, 2, 1, num_samples, 2)
    merged = merge_entity_samples(samples.depths, samples.deltas, density, features)
    out = render_rays(merged.density, merged.features, merged.depths, merged.deltas)
    alpha = 1 - math.exp(-(sigma_1 + sigma_2) * length)
    assert out.alpha.item() == pytest.approx(alpha, rel=1e-5)
    # Each entity contributes in proportion to its density, as GIRAFFE's operator says.
    expected = torch.tensor([sigma_1, sigma_2]) / (sigma_1 + sigma_2) * alpha
    torch.testing.assert_close(out.features.reshape(2), expected, atol=2e-3, rtol=0)


def test_composite_images():
    fg, bg = torch.full((1, 3, 2, 2), 1.0), torch.full((1, 3, 2, 2), 0.2)
    mask = torch.tensor([[[[1.0, 0.0], [0.25, 0.5]]]])
    out = composite_images(fg, bg, mask)
    torch.testing.assert_close(out[0, 0], torch.tensor([[1.0, 0.2], [0.4, 0.6]]))


def test_steepen_mask_closed_form():
    mask = torch.tensor([0.0, 0.2, 0.3, 0.5, 0.6, 0.8, 1.0]).reshape(1, 1, 1, 7)
    torch.testing.assert_close(steepen_mask(mask, 1.0), mask)
    # k = 2: 0.25 and 0.75 are where the ramp meets 0 and 1; 0.5 stays.
    torch.testing.assert_close(steepen_mask(mask, 2.0)[0, 0, 0], torch.tensor([0.0, 0.0, 0.1, 0.5, 0.7, 1.0, 1.0]))
    steep = steepen_mask(mask, 4.0)[0, 0, 0]
    assert steep[1] == 0 and steep[2] == 0 and steep[5] == 1
    torch.testing.assert_close(steep[4], torch.tensor(0.9))


def test_steepen_mask_rejects_a_flattening():
    with pytest.raises(ValueError, match="mask steepness must be at least 1, got 0.5"):
        steepen_mask(torch.zeros(1, 1, 2, 2), 0.5)
