import pytest
import torch
from conftest import assert_close_in_norm

from giraffehd.networks.layers import ModulatedConv2d, NoiseInjection, scaled_lrelu
from giraffehd.networks.synthesis import SynthesisLayer, SynthesisNetwork


def small_net(in_resolution: int = 8, out_resolution: int = 32, **kwargs) -> SynthesisNetwork:
    sizes = dict(in_channels=6, w_dim=10, channel_base=256, channel_max=16, channel_min=4) | kwargs
    return SynthesisNetwork(in_resolution=in_resolution, out_resolution=out_resolution, **sizes)


def inputs(net: SynthesisNetwork, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, net.in_channels, net.in_resolution, net.in_resolution, generator=g)
    return features, torch.randn(batch, net.num_ws, net.w_dim, generator=g)


def set_noise_strength(net: SynthesisNetwork, strength: float) -> None:
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, NoiseInjection):
                module.strength.fill_(strength)


@pytest.mark.parametrize(("in_resolution", "out_resolution"), [(8, 32), (16, 64), (16, 128), (32, 32)])
def test_output_shape_and_number_of_ws(in_resolution, out_resolution):
    net = small_net(in_resolution, out_resolution, out_channels=4)
    num_blocks = (out_resolution // in_resolution).bit_length() - 1
    assert len(net.blocks) == num_blocks
    assert net.num_ws == 2 * (num_blocks + 1)
    assert net(*inputs(net)).image.shape == (2, 4, out_resolution, out_resolution)


def test_default_channels():
    net = SynthesisNetwork(in_channels=128, in_resolution=16, out_resolution=256, w_dim=32)
    assert net.channels == {16: 256, 32: 256, 64: 128, 128: 64, 256: 32}


def test_1024_pixels_with_tiny_channels():
    net = small_net(16, 1024, channel_base=64, channel_max=8, channel_min=2)
    assert net.num_ws == 14
    with torch.no_grad():
        out = net(*inputs(net, batch=1)).image
    assert out.shape == (1, 3, 1024, 1024)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("in_resolution", "out_resolution", "message"),
    [(12, 64, "in_resolution.*12"), (2, 64, "in_resolution.*2"), (16, 48, "out_resolution.*48"),
     (8, 16, "out_resolution.*16"), (8, 2048, "out_resolution.*2048"), (64, 32, "out_resolution.*32")],
)  # fmt: skip
def test_invalid_resolutions_are_rejected(in_resolution, out_resolution, message):
    with pytest.raises(ValueError, match=message):
        small_net(in_resolution, out_resolution)


def test_wrong_number_of_ws_is_rejected():
    net = small_net()
    features, ws = inputs(net)
    with pytest.raises(ValueError, match="ws"):
        net(features, ws[:, 1:])


def test_each_layer_reads_the_documented_w():
    net = small_net(8, 32)  # two blocks, num_ws = 6
    features, ws = inputs(net)
    reads = []  # (output resolution, w) in the order the layers run
    for module in net.modules():
        if isinstance(module, ModulatedConv2d):
            module.register_forward_hook(lambda module, args, out: reads.append((out.shape[-1], args[1])))
    net(features, ws)
    expected_index = [0, 1, 1, 2, 3, 3, 4, 5]
    assert len(reads) == len(expected_index)
    for (resolution, w), index in zip(reads, expected_index, strict=True):
        assert torch.equal(w, ws[:, index])
        assert index in net.ws_per_resolution[resolution]
    assert [resolution for resolution, _ in reads] == [8, 8, 16, 16, 16, 32, 32, 32]
    assert net.ws_per_resolution == {8: range(0, 2), 16: range(1, 4), 32: range(3, 6)}


def test_one_layer_per_block_reads_the_documented_w():
    net = small_net(8, 32, layers_per_block=1)  # two blocks, num_ws = 2 + 2
    assert net.num_ws == 4
    features, ws = inputs(net)
    reads = []
    for module in net.modules():
        if isinstance(module, ModulatedConv2d):
            module.register_forward_hook(lambda module, args, out: reads.append((out.shape[-1], args[1])))
    assert net(features, ws).image.shape == (2, 3, 32, 32)
    expected = [(8, 0), (8, 1), (16, 1), (16, 2), (32, 2), (32, 3)]
    assert len(reads) == len(expected)
    for (resolution, w), (expected_resolution, index) in zip(reads, expected, strict=True):
        assert resolution == expected_resolution and torch.equal(w, ws[:, index])
    assert net.ws_per_resolution == {8: range(0, 2), 16: range(1, 3), 32: range(2, 4)}
    with pytest.raises(ValueError, match="layers_per_block"):
        small_net(8, 32, layers_per_block=3)


@pytest.mark.parametrize("layers_per_block", [1, 2])
@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_injection_index_keeps_lower_resolution_features(resolution, layers_per_block):
    net = small_net(8, 64, layers_per_block=layers_per_block)
    features, ws = inputs(net)
    injection = net.ws_per_resolution[resolution].start
    mixed = ws.clone()
    mixed[:, injection:] = torch.randn(2, net.num_ws - injection, net.w_dim)
    feature_maps = []
    for module in net.modules():
        if isinstance(module, SynthesisLayer):
            module.register_forward_hook(lambda module, args, out: feature_maps.append(out))
    image, image_mixed = net(features, ws).image, net(features, mixed).image
    half = len(feature_maps) // 2
    for original, changed in zip(feature_maps[:half], feature_maps[half:], strict=True):
        assert torch.equal(original, changed) == (original.shape[-1] < resolution)
    assert not torch.allclose(image, image_mixed)


def test_first_w_changes_the_image():
    net = small_net()
    features, ws = inputs(net)
    changed = ws.clone()
    changed[:, 0] += 1.0
    assert not torch.allclose(net(features, ws).image, net(features, changed).image)


def test_const_noise_does_not_depend_on_the_global_seed():
    torch.manual_seed(1)
    net = small_net()
    torch.manual_seed(2)
    twin = small_net()
    parameters = {name: value for name, value in net.state_dict().items() if "noise_const" not in name}
    twin.load_state_dict(parameters, strict=False)
    set_noise_strength(net, 0.1)
    set_noise_strength(twin, 0.1)
    features, ws = inputs(net)
    assert torch.equal(net(features, ws).image, twin(features, ws).image)
    assert not torch.allclose(net(features, ws).image, net(features, ws, noise_mode="none").image)


def test_random_noise_follows_the_rng():
    net = small_net()
    set_noise_strength(net, 0.1)
    features, ws = inputs(net)

    def run(seed):
        return net(features, ws, noise_mode="random", rng=torch.Generator().manual_seed(seed)).image

    assert torch.equal(run(0), run(0))
    assert not torch.allclose(run(0), run(1))
    with pytest.raises(ValueError, match="Generator"):
        net(features, ws, noise_mode="random")
    with pytest.raises(ValueError, match="noise_mode"):
        net(features, ws, noise_mode="fixed")


def test_every_parameter_gets_a_finite_nonzero_gradient():
    net = small_net(8, 32)
    set_noise_strength(net, 0.1)
    net(*inputs(net), noise_mode="random", rng=torch.Generator().manual_seed(0)).image.square().mean().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_the_output_holds_the_image_and_the_first_skip_image():
    net = small_net(8, 32, out_channels=4)
    features, ws = inputs(net)
    out = net(features, ws)
    assert out.image.shape == (2, 4, 32, 32)
    assert out.first_rgb.shape == (2, 4, 8, 8)
    assert torch.equal(out.first_rgb, net.input_torgb(net.input_layer(features, ws[:, 0]), ws[:, 1]))
    # Without blocks the skip path is its first image alone.
    flat = small_net(32, 32)
    features, ws = inputs(flat)
    out = flat(features, ws)
    assert torch.equal(out.image, out.first_rgb)


@pytest.mark.parametrize("noise_mode", ["random", "const", "none"])
def test_the_folded_gain_gives_the_plain_layers_values_and_gradients(noise_mode):
    layer = SynthesisLayer(6, 5, w_dim=8, resolution=16, upsample=True)
    with torch.no_grad():
        layer.bias.normal_()
        layer.noise.strength.fill_(0.3)
    x, w = torch.randn(2, 6, 8, 8), torch.randn(2, 8)

    def plain():  # the layer as written before the gain was folded: scaled_lrelu(noise(conv) + bias)
        rng = torch.Generator().manual_seed(0) if noise_mode == "random" else None
        y = layer.noise(layer.conv(x, w), noise_mode, rng)
        return scaled_lrelu(y + layer.bias[:, None, None])

    def folded():
        rng = torch.Generator().manual_seed(0) if noise_mode == "random" else None
        return layer(x, w, noise_mode, rng)

    results = []
    for forward in (folded, plain):
        layer.zero_grad(set_to_none=True)
        out = forward()
        out.square().sum().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}))
    (a, grads_a), (b, grads_b) = results
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        assert_close_in_norm(grads_a[name], grads_b[name], rel=1e-2, name=name)  # a wrong gain is off by O(1)
