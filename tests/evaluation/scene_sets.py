"""A tiny multi-object synthetic set for the scene commands' tests: 2-3 boxes and spheres at 32 px."""

from pathlib import Path

CLASSES = ["box", "sphere"]
PALETTE = {"red": [0.8, 0.1, 0.1], "blue": [0.1, 0.3, 0.8]}


def scenes_set(root: Path, count: int) -> Path:
    """``count`` scenes written to ``root`` by the synthetic writer."""
    from giraffehd.data.synthetic.writer import SyntheticSpec, synthesize
    from giraffehd.scene import ScenePrior

    prior = ScenePrior(
        num_objects=3, min_objects=2, z_dim=1, elevation_deg=[25, 40], fov_deg=[30, 30],
        translation=[[-0.5, 0.5], [0, 0], [-0.5, 0.5]], scale=[[0.1, 0.15]] * 3,
    )  # fmt: skip
    synthesize(root, prior, SyntheticSpec(CLASSES, PALETTE), count, 32)
    return root
