"""The EMA update against its closed form: ema <- d * ema + (1 - d) * param; buffers are copied."""

import copy

import pytest
import torch
from torch import nn

from giraffehd.training.ema import ema_decay_for_half_life, update_ema


def _network(seed: int) -> nn.Module:
    """Parameters and buffers (batch-norm running statistics, a step counter), seeded."""
    torch.manual_seed(seed)
    network = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_()  # batch norm starts at ones and zeros: every network would agree there
    network[1].running_mean.normal_()
    network[1].running_var.uniform_(0.5, 2.0)
    network[1].num_batches_tracked.fill_(seed + 7)
    return network


def test_one_update_is_the_weighted_average_of_every_parameter():
    decay = 0.9
    ema, model = _network(0), _network(1)
    before = copy.deepcopy(ema)
    model_before = copy.deepcopy(model)
    update_ema(ema, model, decay)
    for (name, value), old, param in zip(ema.named_parameters(), before.parameters(), model.parameters(), strict=True):
        assert not torch.allclose(old, param), name  # the two orders of the decay would differ here
        torch.testing.assert_close(value, decay * old + (1 - decay) * param, msg=name)
        # The decay applied the other way round would give this instead:
        assert not torch.allclose(value, (1 - decay) * old + decay * param), name
    for name, value in ema.named_buffers():
        assert torch.equal(value, model.get_buffer(name)), name  # copied, not averaged
    for (name, value), kept in zip(model.state_dict().items(), model_before.state_dict().values(), strict=True):
        assert torch.equal(value, kept), name  # the trained network is left as it was
    assert not any(p.grad is not None for p in ema.parameters())


def test_repeated_updates_converge_geometrically_to_a_fixed_model():
    decay = 0.5
    ema, model = _network(0), _network(1)
    start = [p.detach().clone() for p in ema.parameters()]
    for _ in range(3):
        update_ema(ema, model, decay)
    for value, old, param in zip(ema.parameters(), start, model.parameters(), strict=True):
        torch.testing.assert_close(value, param + decay**3 * (old - param))


def test_mismatched_networks_are_refused():
    with pytest.raises(ValueError):
        update_ema(nn.Linear(3, 4), nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), 0.9)


@pytest.mark.parametrize(("half_life", "batch"), [(10_000.0, 16), (500.0, 4), (64.0, 32)])
def test_decay_for_half_life_halves_the_weights_after_that_many_images(half_life, batch):
    decay = ema_decay_for_half_life(half_life, batch)
    assert 0 < decay < 1
    assert decay ** (half_life / batch) == pytest.approx(0.5)
