import pytest
import torch

from giraffehd.model.style_schedule import layer_styles, present_mean, switch_layers


def test_present_mean_averages_only_present_objects_and_all_when_none():
    styles = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [5.0, 4.0]], [[1.0, 1.0], [2.0, 2.0], [6.0, 6.0]]])
    present = torch.tensor([[True, False, True], [False, False, False]])
    out = present_mean(styles, present)
    torch.testing.assert_close(out, torch.tensor([[3.0, 2.0], [3.0, 3.0]]))


def test_layers_before_the_switch_read_shape_and_from_it_appearance():
    w_shape, w_appearance = torch.zeros(2, 4), torch.ones(2, 4)
    ws = layer_styles(w_shape, w_appearance, torch.tensor([2, 0]), num_ws=5)
    assert ws.shape == (2, 5, 4)
    assert ws[0, :, 0].tolist() == [0, 0, 1, 1, 1]
    assert ws[1, :, 0].tolist() == [1, 1, 1, 1, 1]  # switch 0: appearance everywhere


def test_switch_is_the_injection_index_without_mixing_and_random_with_it():
    assert switch_layers(3, 6, 2).tolist() == [2, 2, 2]
    mixed = switch_layers(2000, 6, 2, mixing_prob=0.5, rng=torch.Generator().manual_seed(0))
    moved = mixed != 2
    # About half the scenes mix (a mixed switch can land on 2 too: 1 in 5 of them), within [1, num_ws).
    assert 0.3 < moved.float().mean() < 0.5
    assert mixed.min() >= 1 and mixed.max() <= 5
    again = switch_layers(2000, 6, 2, mixing_prob=0.5, rng=torch.Generator().manual_seed(0))
    assert torch.equal(mixed, again)


def test_mixing_without_an_rng_is_refused():
    with pytest.raises(ValueError, match="rng"):
        switch_layers(2, 6, 2, mixing_prob=0.5)
