"""Image sources: a memoised source renders each distinct scene once, whatever the batches asked for."""

import torch
from evaluation_oracle import oracle_source

from giraffehd.evaluation.sources import memoised
from giraffehd.scene import SceneParameters, ScenePrior


def test_a_memoised_source_renders_each_scene_once_and_returns_the_same_images():
    prior = ScenePrior(z_dim=4, elevation_deg=[10, 30])
    scenes = prior.sample(5, torch.Generator().manual_seed(0))
    rendered = []

    def counting(scene: SceneParameters):
        rendered.append(scene.batch_size)
        return oracle_source()(scene)

    source = memoised(counting)
    first = source(scenes)
    repeated = SceneParameters.cat([scenes.select(slice(3, 5)), scenes.select(slice(0, 2)), scenes.select(slice(3, 4))])
    again = source(repeated)
    assert rendered == [5]  # nothing new to render the second time
    torch.testing.assert_close(again.image, first.image[[3, 4, 0, 1, 3]])
    torch.testing.assert_close(first.image, oracle_source()(scenes).image)
    source(prior.sample(2, torch.Generator().manual_seed(1)))
    assert rendered == [5, 2]
