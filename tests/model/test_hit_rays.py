import torch

from giraffehd.model.hit_rays import gather_rays, pack_hit_rays, scatter_rays


def test_hit_rays_come_first_in_their_order_and_rows_keep_the_most_hits():
    hit = torch.tensor([[[False, True, False, True, True], [True, False, False, False, False]]])
    order = pack_hit_rays(hit)
    assert order.shape == (1, 2, 3)  # the first row has 3 hits, the most of any row
    assert order[0, 0].tolist() == [1, 3, 4]
    assert order[0, 1, 0].item() == 0  # the one hit first; the rest are misses, in order
    assert order[0, 1, 1:].tolist() == [1, 2]


def test_no_hits_keeps_no_rays():
    order = pack_hit_rays(torch.zeros(2, 1, 6, dtype=torch.bool))
    assert order.shape == (2, 1, 0)
    values = torch.rand(2, 1, 0, 4)
    assert torch.equal(scatter_rays(values, order, 6), torch.zeros(2, 1, 6, 4))


def test_scatter_of_gather_keeps_hit_rays_and_zeroes_the_rest():
    g = torch.Generator().manual_seed(0)
    hit = torch.rand(3, 2, 10, generator=g) < 0.4
    values = torch.rand(3, 2, 10, 5, 7, generator=g)  # (B, N, R, S, C)
    order = pack_hit_rays(hit)
    back = scatter_rays(gather_rays(values, order), order, 10)
    # Every hit ray is among the kept rays and comes back in place; a miss is zero unless it was kept.
    kept = torch.zeros_like(hit).scatter(2, order, True)
    assert torch.all(kept[hit])
    expected = torch.where(kept[..., None, None], values, 0.0)
    assert torch.equal(back, expected)
    assert torch.equal(back[hit], values[hit])


def test_gather_picks_the_indexed_rays_without_channels():
    values = torch.arange(2 * 1 * 4 * 3, dtype=torch.float32).reshape(2, 1, 4, 3)  # (B, N, R, S)
    order = torch.tensor([[[2, 0]], [[3, 1]]])
    out = gather_rays(values, order)
    assert torch.equal(out[0, 0], values[0, 0, [2, 0]])
    assert torch.equal(out[1, 0], values[1, 0, [3, 1]])
