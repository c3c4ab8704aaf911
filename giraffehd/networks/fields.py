"""Feature fields: the 3D half of the generator.

A field maps a 3D point and a style vector (w, from a mapping network) to a density and a feature
vector. Objects are evaluated in their box frame, where their field is zero outside the box; the
background field takes world points divided by the far bound of its samples. As in GIRAFFE HD, the
3D fields are conditioned on the shape style; conditioning the features on the appearance style as
well (GIRAFFE) is an option: as in GIRAFFE, the appearance style is added to one more hidden layer after
the density, so that it can colour each part of the object differently (a body colour, not one tint).

Axis legend: B scenes, N entities (objects), P points, W style dimensions, C feature channels.
"""

import math
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn


def positional_encoding(points: Float[Tensor, "*batch 3"], num_frequencies: int) -> Float[Tensor, "*batch D"]:
    """NeRF's encoding: the point itself, then sin and cos of 2^k * pi * x for k < num_frequencies.

    D = 3 + 6 * num_frequencies.
    """
    if num_frequencies == 0:
        return points
    frequencies = (2.0 ** torch.arange(num_frequencies, dtype=points.dtype, device=points.device)) * math.pi
    angles = (points[..., None, :] * frequencies[:, None]).flatten(-2)
    return torch.cat([points, torch.sin(angles), torch.cos(angles)], dim=-1)


@dataclass(frozen=True)
class FieldOutput:
    density: Float[Tensor, "B N P"]
    features: Float[Tensor, "B N P C"]


class FeatureField(nn.Module):
    """An MLP field: positional encoding of the point, shape style added at the input and at the skip.

    ``num_layers`` hidden layers of width ``hidden_dim`` with ReLU; at layer ``skip_layer`` the encoded
    point and the shape style are added again (GIRAFFE's skip). Density is softplus-activated, so it is
    non-negative; with ``box_half_size`` set it is exactly zero outside [-h, h]^3. ``position_scale``
    divides the point before the encoding (the box test still sees the point itself): GIRAFFE divides the
    background's points by 12, so that its field varies slowly across the scene and cannot paint
    object-sized detail, which the objects are then left to draw.
    """

    def __init__(
        self,
        w_dim: int,
        feature_dim: int,
        hidden_dim: int = 128,
        num_layers: int = 8,
        skip_layer: int | None = 4,
        num_frequencies: int = 10,
        condition_on_appearance: bool = False,
        box_half_size: float | None = 1.0,
        position_scale: float | int = 1.0,
    ) -> None:
        super().__init__()
        if not position_scale > 0:
            raise ValueError(f"position_scale must be positive, got {position_scale}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if skip_layer is not None and not 0 < skip_layer < num_layers:
            raise ValueError(f"skip_layer must be in [1, num_layers={num_layers}) or None, got {skip_layer}")
        self.num_frequencies = num_frequencies
        self.skip_layer = skip_layer
        self.box_half_size = box_half_size
        self.position_scale = position_scale
        encoded_dim = 3 + 6 * num_frequencies
        self.input_points = nn.Linear(encoded_dim, hidden_dim)
        self.input_shape = nn.Linear(w_dim, hidden_dim, bias=False)
        self.hidden = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(num_layers - 1))
        if skip_layer is not None:
            self.skip_points = nn.Linear(encoded_dim, hidden_dim, bias=False)
            self.skip_shape = nn.Linear(w_dim, hidden_dim, bias=False)
        self.density_head = nn.Linear(hidden_dim, 1)
        self.feature_head = nn.Linear(hidden_dim, feature_dim)
        self.appearance = nn.Linear(w_dim, hidden_dim, bias=False) if condition_on_appearance else None
        self.appearance_hidden = nn.Linear(hidden_dim, hidden_dim) if condition_on_appearance else None

    def forward(
        self,
        points: Float[Tensor, "B N P 3"],
        w_shape: Float[Tensor, "B N W"],
        w_appearance: Float[Tensor, "B N W"] | None = None,
    ) -> FieldOutput:
        h, density = self._trunk(points, w_shape)
        if self.appearance is not None:
            if w_appearance is None:
                raise ValueError("this field is conditioned on appearance: pass w_appearance")
            h = (self.appearance_hidden(h) + self.appearance(w_appearance)[:, :, None]).relu_()
        return FieldOutput(density=density, features=self.feature_head(h))

    def density(self, points: Float[Tensor, "B N P 3"], w_shape: Float[Tensor, "B N W"]) -> Float[Tensor, "B N P"]:
        """The density alone (equal to ``forward``'s): it does not depend on appearance, and a silhouette
        needs no features."""
        return self._trunk(points, w_shape)[1]

    def _trunk(
        self, points: Float[Tensor, "B N P 3"], w_shape: Float[Tensor, "B N W"]
    ) -> tuple[Float[Tensor, "B N P D"], Float[Tensor, "B N P"]]:
        """The last hidden layer and the density."""
        scaled = points if self.position_scale == 1.0 else points / self.position_scale
        encoded = positional_encoding(scaled, self.num_frequencies)
        h = (self.input_points(encoded) + self.input_shape(w_shape)[:, :, None]).relu_()
        for index, layer in enumerate(self.hidden, start=1):
            if index == self.skip_layer:
                h = h + self.skip_points(encoded) + self.skip_shape(w_shape)[:, :, None]
            h = layer(h).relu_()
        density = nn.functional.softplus(self.density_head(h)[..., 0])
        if self.box_half_size is not None:
            inside = points.abs().amax(dim=-1) <= self.box_half_size
            density = torch.where(inside, density, torch.zeros_like(density))
        return h, density
