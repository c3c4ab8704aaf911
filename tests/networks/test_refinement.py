import torch
from conftest import assert_close_in_norm

from giraffehd.networks.layers import scaled_lrelu
from giraffehd.networks.refinement import RefinementNetwork


def test_the_refinement_is_modulated_convs_with_scaled_lrelu_then_a_torgb():
    net = RefinementNetwork(w_dim=8, channels=5, num_layers=2)
    with torch.no_grad():
        for bias in net.biases:
            bias.normal_()
    rgb, w = torch.randn(2, 3, 16, 16), torch.randn(2, 8)

    def plain():  # the gain after each activation, as written out in the docstring
        x = rgb
        for conv, bias in zip(net.convs, net.biases, strict=True):
            x = scaled_lrelu(conv(x, w) + bias[:, None, None])
        return net.to_rgb(x, w)

    results = []
    for forward in (lambda: net(rgb, w), plain):
        net.zero_grad(set_to_none=True)
        out = forward()
        out.square().sum().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in net.named_parameters()}))
    (a, grads_a), (b, grads_b) = results
    assert a.shape == (2, 3, 16, 16)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for name in grads_a:
        assert_close_in_norm(grads_a[name], grads_b[name], rel=1e-2, name=name)
