"""The 2D networks' convolutions run channels-last (a speed-up on CPU): same outputs, same gradients."""

import pytest
import torch
from conftest import assert_close_in_norm

from giraffehd.networks import layers
from giraffehd.networks.discriminator import Discriminator
from giraffehd.networks.neural_renderer import NeuralRenderer
from giraffehd.networks.refinement import RefinementNetwork
from giraffehd.networks.synthesis import SynthesisNetwork


def _synthesis():
    net = SynthesisNetwork(8, 8, 64, w_dim=16, out_channels=4, channel_base=512, channel_max=32)
    for name, parameter in net.named_parameters():
        if name.endswith("strength"):
            parameter.data.fill_(0.1)  # noise on, so that its path is compared too
    features = torch.randn(2, 8, 8, 8, requires_grad=True)
    ws = torch.randn(2, net.num_ws, 16)
    return net, (features, ws), lambda out: out.image


def _discriminator():
    net = Discriminator(64, channel_base=512, channel_max=32)
    return net, (torch.randn(4, 3, 64, 64, requires_grad=True),), lambda out: out


def _neural_renderer():
    net = NeuralRenderer(8, 8, 32)
    return net, (torch.randn(2, 8, 8, 8, requires_grad=True),), lambda out: out


def _refinement():
    net = RefinementNetwork(w_dim=16, channels=8)
    return net, (torch.randn(2, 3, 32, 32, requires_grad=True), torch.randn(2, 16)), lambda out: out


def _run(make, memory_format, monkeypatch):
    monkeypatch.setattr(layers, "CONV_MEMORY_FORMAT", memory_format)
    torch.manual_seed(0)
    net, inputs, image = make()
    out = image(net(*inputs))
    out.square().mean().backward()
    grads = {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}
    return out.detach(), inputs[0].grad.clone(), grads


@pytest.mark.parametrize("make", [_synthesis, _discriminator, _neural_renderer, _refinement])
def test_channels_last_gives_the_same_outputs_and_gradients(make, monkeypatch):
    fast = _run(make, torch.channels_last, monkeypatch)
    plain = _run(make, torch.contiguous_format, monkeypatch)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-4, atol=1e-5)
    assert_close_in_norm(fast[1], plain[1], name="input")
    assert fast[2].keys() == plain[2].keys() and len(fast[2]) > 0
    for name in fast[2]:
        assert_close_in_norm(fast[2][name], plain[2][name], name=name)


def test_the_convolutions_really_run_channels_last():
    x = torch.randn(2, 8, 16, 16)
    assert layers.conv2d(x, torch.randn(4, 8, 3, 3), padding=1).is_contiguous(memory_format=torch.channels_last)
