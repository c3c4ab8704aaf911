import pytest
import torch
import torch.nn.functional as F

from giraffehd.networks.upsampler import StyledUpsampler, resize_base


def net(**kwargs) -> StyledUpsampler:
    sizes = dict(in_channels=9, in_resolution=8, out_resolution=32, w_dim=6, out_channels=4, bicubic_channels=3)
    return StyledUpsampler(**(sizes | kwargs), channel_base=64, channel_max=8, channel_min=4)


def inputs(up: StyledUpsampler, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    size = (2, up.out_channels, up.in_resolution, up.in_resolution)
    base = torch.randn(size, generator=g)
    hidden = torch.randn(2, up.in_channels - up.out_channels, up.in_resolution, up.in_resolution, generator=g)
    return base, hidden, torch.randn(2, up.num_ws, up.w_dim, generator=g)


def test_before_training_it_is_bicubic_for_colours_and_bilinear_for_the_rest():
    up = net()
    base, hidden, ws = inputs(up)
    out = up(base, hidden, ws)
    bicubic = F.interpolate(base[:, :3], size=32, mode="bicubic", align_corners=False)
    bilinear = F.interpolate(base[:, 3:], size=32, mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.image, torch.cat([bicubic, bilinear], dim=1))
    assert out.residual.abs().max() == 0


def test_the_residual_learns_after_one_step():
    up = net()
    base, hidden, ws = inputs(up)
    target = torch.randn(2, 4, 32, 32, generator=torch.Generator().manual_seed(3))
    optimizer = torch.optim.Adam(up.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        loss = (up(base, hidden, ws).image - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert up(base, hidden, ws).residual.abs().max() > 0


def test_the_residual_depends_on_the_style_and_the_hidden_features():
    up = net()
    with torch.no_grad():
        for head in up.heads:
            head.conv.weight.normal_()
    base, hidden, ws = inputs(up)
    reference = up(base, hidden, ws).residual
    assert not torch.allclose(up(base, hidden, ws.flip(0)).residual, reference)
    assert not torch.allclose(up(base, hidden + 1, ws).residual, reference)


def test_resize_base_all_colour():
    x = torch.rand(1, 3, 4, 4)
    torch.testing.assert_close(resize_base(x, 2, 3), F.interpolate(x, size=8, mode="bicubic", align_corners=False))


def test_a_window_of_the_base_gives_the_same_window_of_the_result_away_from_its_borders():
    up = net(in_resolution=16, out_resolution=64)
    with torch.no_grad():
        for head in up.heads:
            head.conv.weight.normal_()
    base, hidden, ws = inputs(up)
    whole = up(base, hidden, ws).image
    window = up(base[:, :, 3:13, 2:14], hidden[:, :, 3:13, 2:14], ws).image  # rows 3-12, columns 2-13
    margin = 3 * up.scale  # three input pixels of context on each side (convolutions, bicubic)
    inner = window[:, :, margin:-margin, margin:-margin]
    torch.testing.assert_close(inner, whole[:, :, 12 + margin : 52 - margin, 8 + margin : 56 - margin])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"out_resolution": 24}, "out_resolution"), ({"out_resolution": 8}, "out_resolution"),
     ({"bicubic_channels": 5}, "bicubic_channels"), ({"in_channels": 4}, "in_channels")],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        net(**kwargs)


def test_wrong_input_shapes_are_named():
    up = net()
    base, hidden, ws = inputs(up)
    with pytest.raises(ValueError, match="base"):
        up(base[:, :3], hidden, ws)
    with pytest.raises(Exception, match="hidden"):  # the shape hook of the tests may answer first
        up(base, hidden[..., :4], ws)
    with pytest.raises(ValueError, match="hidden"):
        up(base, hidden[:, :2], ws)
    with pytest.raises(ValueError, match="ws"):
        up(base, hidden, ws[:, :1])
