import math

import pytest
import torch

from giraffehd.networks.fields import FeatureField, positional_encoding


def test_positional_encoding_closed_form():
    x = torch.tensor([[0.25, -0.5, 1.0]])
    encoded = positional_encoding(x, 2)
    assert encoded.shape == (1, 15)
    torch.testing.assert_close(encoded[0, :3], x[0])
    # sin(2^k pi x) for k = 0, 1, coordinate-major within each frequency.
    expected_sin = torch.tensor([math.sin(math.pi * 0.25), math.sin(-math.pi * 0.5), math.sin(math.pi)])
    torch.testing.assert_close(encoded[0, 3:6], expected_sin, atol=1e-6, rtol=0)
    torch.testing.assert_close(encoded[0, 6:9], torch.sin(2 * math.pi * x[0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(encoded[0, 9:12], torch.cos(math.pi * x[0]), atol=1e-6, rtol=0)
    assert torch.equal(positional_encoding(x, 0), x)


def test_density_is_nonnegative_and_zero_outside_the_box():
    field = FeatureField(w_dim=8, feature_dim=5, hidden_dim=16, num_layers=3, skip_layer=1, num_frequencies=3)
    points = (torch.rand(2, 3, 200, 3) - 0.5) * 3
    out = field(points, torch.randn(2, 3, 8))
    inside = points.abs().amax(dim=-1) <= 1.0
    assert torch.all(out.density >= 0)
    assert torch.all(out.density[~inside] == 0) and torch.all(out.density[inside] > 0)
    assert out.features.shape == (2, 3, 200, 5)


@pytest.mark.parametrize("condition_on_appearance", [False, True])
def test_the_density_alone_is_forward_s_density(condition_on_appearance: bool):
    on = condition_on_appearance
    field = FeatureField(8, 5, hidden_dim=16, num_layers=3, skip_layer=1, condition_on_appearance=on)
    points, w = (torch.rand(2, 3, 50, 3) - 0.5) * 2.5, torch.randn(2, 3, 8)
    full = field(points, w, torch.randn(2, 3, 8) if on else None)
    assert torch.equal(field.density(points, w), full.density)


def test_objects_are_evaluated_in_one_batch_and_independently():
    field = FeatureField(w_dim=8, feature_dim=4, hidden_dim=16, num_layers=4, num_frequencies=2, skip_layer=2)
    points, w = torch.rand(1, 3, 50, 3) - 0.5, torch.randn(1, 3, 8)
    together = field(points, w)
    alone = field(points[:, 1:2], w[:, 1:2])
    torch.testing.assert_close(together.density[:, 1:2], alone.density)
    torch.testing.assert_close(together.features[:, 1:2], alone.features)
    assert not torch.allclose(together.features[:, 0], together.features[:, 2])


def test_shape_style_changes_the_field_and_appearance_only_the_features():
    field = FeatureField(
        w_dim=8,
        feature_dim=4,
        hidden_dim=16,
        num_layers=3,
        num_frequencies=2,
        skip_layer=None,
        condition_on_appearance=True,
    )
    points, w_shape, w_app = torch.rand(1, 1, 40, 3) - 0.5, torch.randn(1, 1, 8), torch.randn(1, 1, 8)
    base = field(points, w_shape, w_app)
    other_shape = field(points, torch.randn(1, 1, 8), w_app)
    other_app = field(points, w_shape, torch.randn(1, 1, 8))
    assert not torch.allclose(base.density, other_shape.density)
    torch.testing.assert_close(base.density, other_app.density)
    assert not torch.allclose(base.features, other_app.features)
    # The appearance acts per point (GIRAFFE's extra hidden layer), not as one offset for the whole object.
    change = other_app.features - base.features
    assert (change - change.mean(dim=2, keepdim=True)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="w_appearance"):
        field(points, w_shape)


def test_invalid_sizes_are_rejected():
    with pytest.raises(ValueError, match="skip_layer"):
        FeatureField(w_dim=4, feature_dim=4, num_layers=3, skip_layer=3)


def _reference_field(field: FeatureField, points, w_shape, w_appearance):
    """The field written out with out-of-place activations (what the in-place ReLUs must reproduce)."""
    encoded = positional_encoding(points, field.num_frequencies)
    h = torch.relu(field.input_points(encoded) + field.input_shape(w_shape)[:, :, None])
    for index, layer in enumerate(field.hidden, start=1):
        if index == field.skip_layer:
            h = h + field.skip_points(encoded) + field.skip_shape(w_shape)[:, :, None]
        h = torch.relu(layer(h))
    density = torch.nn.functional.softplus(field.density_head(h)[..., 0])
    density = torch.where(points.abs().amax(dim=-1) <= field.box_half_size, density, torch.zeros_like(density))
    h = torch.relu(field.appearance_hidden(h) + field.appearance(w_appearance)[:, :, None])
    return density, field.feature_head(h)


def test_in_place_activations_give_the_plain_fields_values_and_gradients():
    field = FeatureField(
        w_dim=8, feature_dim=4, hidden_dim=16, num_layers=4, skip_layer=2, condition_on_appearance=True
    )
    points = torch.rand(2, 3, 50, 3) * 2.4 - 1.2
    w_shape, w_appearance = torch.randn(2, 3, 8), torch.randn(2, 3, 8)
    results = []
    for forward in (lambda: tuple(vars(field(points, w_shape, w_appearance)).values()),
                    lambda: _reference_field(field, points, w_shape, w_appearance)):  # fmt: skip
        field.zero_grad(set_to_none=True)
        density, features = forward()
        (density.sum() + features.square().sum()).backward()
        results.append((density.detach(), features.detach(), {n: p.grad.clone() for n, p in field.named_parameters()}))
    (d0, f0, g0), (d1, f1, g1) = results
    assert torch.equal(d0, d1) and torch.equal(f0, f1)
    assert g0.keys() == g1.keys()
    for name in g0:
        assert torch.equal(g0[name], g1[name]), name


def test_a_position_scale_is_the_same_field_at_points_divided_by_it():
    torch.manual_seed(0)
    scaled = FeatureField(8, 5, hidden_dim=16, num_layers=3, skip_layer=1, box_half_size=None, position_scale=12.0)
    plain = FeatureField(8, 5, hidden_dim=16, num_layers=3, skip_layer=1, box_half_size=None)
    plain.load_state_dict(scaled.state_dict())  # the scale adds no weights
    points, w = torch.randn(2, 1, 40, 3) * 4, torch.randn(2, 1, 8)
    ours, theirs = scaled(points, w), plain(points / 12.0, w)
    torch.testing.assert_close(ours.density, theirs.density, rtol=0, atol=0)
    torch.testing.assert_close(ours.features, theirs.features, rtol=0, atol=0)
    # A slower field: neighbouring points a tenth of a unit apart differ less than in the plain field.
    step = torch.tensor([0.1, 0.0, 0.0])
    change = (scaled(points + step, w).features - ours.features).abs().mean()
    assert change < (plain(points + step, w).features - plain(points, w).features).abs().mean()
    with pytest.raises(ValueError, match="position_scale must be positive, got 0"):
        FeatureField(8, 5, position_scale=0)
