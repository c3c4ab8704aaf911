import pytest
import torch

from giraffehd.networks.mapping import MappingNetwork, truncate


def test_output_shape():
    mapping = MappingNetwork(z_dim=16, w_dim=24, num_layers=3)
    assert mapping(torch.randn(5, 16)).shape == (5, 24)
    assert len(mapping.layers) == 3


def test_z_is_normalized_so_its_scale_does_not_matter():
    mapping = MappingNetwork(z_dim=16, w_dim=24, num_layers=4)
    z = torch.randn(5, 16)
    torch.testing.assert_close(mapping(z), mapping(3.0 * z))
    assert not torch.allclose(mapping(z[:1]), mapping(z[1:2]))


def test_forward_changes_no_state():
    mapping = MappingNetwork(z_dim=8, w_dim=8, num_layers=2)
    before = {name: value.clone() for name, value in mapping.state_dict().items()}
    mapping(torch.randn(4, 8))
    after = mapping.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_mean_w_is_the_average_over_seeded_z():
    mapping = MappingNetwork(z_dim=8, w_dim=12, num_layers=2)
    w_avg = mapping.mean_w(64, torch.Generator().manual_seed(5))
    assert w_avg.shape == (12,)
    assert not w_avg.requires_grad
    torch.testing.assert_close(w_avg, mapping.mean_w(64, torch.Generator().manual_seed(5)))
    assert not torch.allclose(w_avg, mapping.mean_w(64, torch.Generator().manual_seed(6)))
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(w_avg, mapping(z).mean(dim=0))


def test_truncate_interpolates_towards_the_average():
    w, w_avg = torch.randn(3, 4, 6), torch.randn(6)
    torch.testing.assert_close(truncate(w, w_avg, 1.0), w)
    torch.testing.assert_close(truncate(w, w_avg, 0.0), w_avg.expand_as(w))
    torch.testing.assert_close(truncate(w, w_avg, 0.5), (w + w_avg) / 2)


def test_num_layers_must_be_positive():
    with pytest.raises(ValueError, match="num_layers"):
        MappingNetwork(z_dim=8, w_dim=8, num_layers=0)
