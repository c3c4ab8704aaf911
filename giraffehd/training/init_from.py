"""Start a training run from another model's weights (``init_from``): every tensor of the new generator
whose name and shape match one in the source is copied into both the trained generator and its EMA;
the rest keeps its fresh initialisation. The discriminator and the optimizers always start fresh.

Used to continue a shipped model under changed rendering code, or to start a larger model (another
resolution, another compositor) from a smaller one's fields and mapping networks.
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from giraffehd.model_io import read_generator_state


@dataclass(frozen=True)
class InitReport:
    source: Path
    loaded: tuple[str, ...]  # copied from the source
    fresh: tuple[str, ...]  # not in the source, or of another shape there: left as initialised

    def summary(self, limit: int = 6) -> str:
        def names(keys: tuple[str, ...]) -> str:
            shown = ", ".join(keys[:limit])
            return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "") if keys else "none"

        return (
            f"init_from {self.source}: loaded {len(self.loaded)} tensors ({names(self.loaded)}); "
            f"left fresh {len(self.fresh)} ({names(self.fresh)})"
        )


def init_generators(path: str | Path, generator: nn.Module, generator_ema: nn.Module) -> InitReport:
    """Copy the matching tensors of the model at ``path`` into ``generator`` and ``generator_ema``."""
    source, _, _ = read_generator_state(path)
    target = generator.state_dict()
    loaded = tuple(k for k, v in target.items() if k in source and tuple(source[k].shape) == tuple(v.shape))
    fresh = tuple(k for k in target if k not in loaded)
    with torch.no_grad():
        for module in (generator, generator_ema):
            state = module.state_dict()
            for key in loaded:
                state[key].copy_(source[key])
    return InitReport(Path(path), loaded, fresh)
