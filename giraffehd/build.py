"""Build a :class:`~giraffehd.generator.Generator` from sizes: the one place where sizes turn into modules.

Hydra configs (``conf/model/``) instantiate :func:`build_generator`; tests and benchmarks call it
directly. Defaults are GIRAFFE HD-like at 64 px with GIRAFFE's field sizes (../shared/DESIGN.md).
"""

from collections.abc import Sequence

from giraffehd.generator import Generator
from giraffehd.networks.fields import FeatureField
from giraffehd.networks.mapping import MappingNetwork
from giraffehd.networks.neural_renderer import NeuralRenderer
from giraffehd.networks.refinement import RefinementNetwork
from giraffehd.networks.synthesis import SynthesisNetwork


def build_generator(
    image_resolution: int = 64,
    feature_resolution: int = 16,
    z_dim: int = 256,
    w_dim: int = 256,
    mapping_layers: int = 8,
    feature_dim: int = 128,
    object_hidden_dim: int = 128,
    object_num_layers: int = 8,
    object_skip_layer: int | None = 4,
    object_num_frequencies: int = 10,
    object_appearance_conditioning: bool = False,
    background_feature_dim: int = 128,
    background_hidden_dim: int = 64,
    background_num_layers: int = 4,
    background_skip_layer: int | None = None,
    background_num_frequencies: int = 4,
    num_object_samples: int = 8,
    num_background_samples: int = 4,
    background_depth_range: Sequence[float] = (0.5, 6.0),
    channel_base: int = 8192,
    channel_max: int = 256,
    channel_min: int = 16,
    layers_per_block: int = 2,
    refinement_channels: int | None = 16,
    refinement_num_layers: int = 2,
    injection_index: int | None = None,
    mask_residual: bool = True,
    composite: str = "image",
    mask_steepness: float = 1.0,
) -> Generator:
    """A generator with the given sizes. ``refinement_channels=None`` leaves out the refinement branch;
    ``injection_index=None`` switches the foreground renderer from shape to appearance style halfway;
    ``mask_residual=False`` takes the mask from the 3D alpha alone. ``composite="features"`` builds GIRAFFE's
    layout (see :mod:`giraffehd.generator`): one plain neural renderer of the same widths, the background
    field conditioned on appearance; it needs ``refinement_channels=None``, ``mask_residual=False``,
    ``object_appearance_conditioning=True`` and ``background_feature_dim == feature_dim``.
    ``mask_steepness`` > 1 steepens the compositing mask about 0.5 (see
    :func:`~giraffehd.rendering.compositing.steepen_mask`)."""
    features = composite == "features"

    def synthesis(in_channels: int, out_channels: int) -> SynthesisNetwork:
        return SynthesisNetwork(
            in_channels=in_channels,
            in_resolution=feature_resolution,
            out_resolution=image_resolution,
            w_dim=w_dim,
            out_channels=out_channels,
            channel_base=channel_base,
            channel_max=channel_max,
            channel_min=channel_min,
            layers_per_block=layers_per_block,
        )

    return Generator(
        mapping_shape=MappingNetwork(z_dim, w_dim, mapping_layers),
        mapping_appearance=MappingNetwork(z_dim, w_dim, mapping_layers),
        object_field=FeatureField(
            w_dim,
            feature_dim,
            hidden_dim=object_hidden_dim,
            num_layers=object_num_layers,
            skip_layer=object_skip_layer,
            num_frequencies=object_num_frequencies,
            condition_on_appearance=object_appearance_conditioning,
            box_half_size=1.0,
        ),
        background_field=FeatureField(
            w_dim,
            background_feature_dim,
            hidden_dim=background_hidden_dim,
            num_layers=background_num_layers,
            skip_layer=background_skip_layer,
            num_frequencies=background_num_frequencies,
            condition_on_appearance=features,
            box_half_size=None,
        ),
        foreground_synthesis=NeuralRenderer(
            feature_dim, feature_resolution, image_resolution, 3, channel_base, channel_max, channel_min
        )
        if features
        else synthesis(feature_dim, 4 if mask_residual else 3),
        background_synthesis=None if features else synthesis(background_feature_dim, 3),
        refinement=None
        if refinement_channels is None
        else RefinementNetwork(w_dim, refinement_channels, refinement_num_layers),
        num_object_samples=num_object_samples,
        num_background_samples=num_background_samples,
        background_depth_range=(float(background_depth_range[0]), float(background_depth_range[1])),
        injection_index=injection_index,
        mask_residual=mask_residual,
        composite=composite,
        mask_steepness=mask_steepness,
    )
