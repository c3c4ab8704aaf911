"""Codes to styles: the two mapping networks, their average styles and truncation.

The shape mapping network maps object and background shape codes, the appearance mapping network the
appearance codes (GIRAFFE HD's two networks). Axis legend: B scenes, N objects, Z code dims, W style dims.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from giraffehd.networks.mapping import MappingNetwork, truncate
from giraffehd.scene import SceneParameters


@dataclass(frozen=True)
class Styles:
    object_shape: Float[Tensor, "B N W"]
    object_appearance: Float[Tensor, "B N W"]
    background_shape: Float[Tensor, "B W"]
    background_appearance: Float[Tensor, "B W"]


class StyleMapper(nn.Module):
    """Maps a scene's four kinds of codes to styles; owns the average styles that truncation pulls towards."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int = 8) -> None:
        super().__init__()
        self.z_dim, self.w_dim = z_dim, w_dim
        self.mapping_shape = MappingNetwork(z_dim, w_dim, num_layers)
        self.mapping_appearance = MappingNetwork(z_dim, w_dim, num_layers)
        self.register_buffer("w_avg_shape", torch.zeros(w_dim))
        self.register_buffer("w_avg_appearance", torch.zeros(w_dim))
        self.register_buffer("w_avg_ready", torch.tensor(False))

    @torch.no_grad()
    def update_w_avg(self, num_samples: int, rng: torch.Generator) -> None:
        """Estimate the average styles used by truncation (call after training or loading)."""
        self.w_avg_shape.copy_(self.mapping_shape.mean_w(num_samples, rng))
        self.w_avg_appearance.copy_(self.mapping_appearance.mean_w(num_samples, rng))
        self.w_avg_ready.fill_(True)

    def forward(self, scene: SceneParameters, truncation_psi: float = 1.0) -> Styles:
        """Codes to styles, truncated towards the average style when ``truncation_psi`` < 1."""
        if truncation_psi != 1.0 and not bool(self.w_avg_ready):
            raise ValueError("truncation_psi != 1 needs the average style: call update_w_avg() first")

        def styles(z: Tensor, mapping: MappingNetwork, w_avg: Tensor) -> Tensor:
            w = mapping(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], -1)
            return w if truncation_psi == 1.0 else truncate(w, w_avg, truncation_psi)

        return Styles(
            object_shape=styles(scene.object_shape, self.mapping_shape, self.w_avg_shape),
            object_appearance=styles(scene.object_appearance, self.mapping_appearance, self.w_avg_appearance),
            background_shape=styles(scene.background_shape, self.mapping_shape, self.w_avg_shape),
            background_appearance=styles(scene.background_appearance, self.mapping_appearance, self.w_avg_appearance),
        )
