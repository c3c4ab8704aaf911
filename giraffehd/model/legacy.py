"""Read generators saved before the generator was made of parts (format 1: one flat ``build_generator``
config and flat parameter names), so that older exported models and checkpoints still load.

:func:`upgrade_model_config` turns the flat config into the nested one of ``conf/model/`` (resolved);
:func:`upgrade_state_dict` renames the parameters. Both are pure; the defaults below are the flat
builder's, for keys an older file left out.
"""

from collections.abc import Mapping

import torch

LEGACY_TARGET = "giraffehd.build.build_generator"

_FLAT_DEFAULTS = {
    "image_resolution": 64, "feature_resolution": 16, "z_dim": 256, "w_dim": 256, "mapping_layers": 8,
    "feature_dim": 128, "object_hidden_dim": 128, "object_num_layers": 8, "object_skip_layer": 4,
    "object_num_frequencies": 10, "object_appearance_conditioning": False, "background_feature_dim": 128,
    "background_hidden_dim": 64, "background_num_layers": 4, "background_skip_layer": None,
    "background_num_frequencies": 4, "num_object_samples": 8, "num_background_samples": 4,
    "background_depth_range": [0.5, 6.0], "channel_base": 8192, "channel_max": 256, "channel_min": 16,
    "layers_per_block": 2, "refinement_channels": 16, "refinement_num_layers": 2, "injection_index": None,
    "mask_residual": True, "composite": "image", "mask_steepness": 1.0,
}  # fmt: skip


def is_legacy(model_config: Mapping) -> bool:
    return model_config.get("_target_") == LEGACY_TARGET


def upgrade_model_config(flat: Mapping) -> dict:
    """The nested, resolved model config equal to a flat ``build_generator`` config."""
    unknown = sorted(set(flat) - set(_FLAT_DEFAULTS) - {"_target_"})
    if unknown:
        raise ValueError(f"model.{unknown[0]} is not a key of the old flat model config")
    c = {**_FLAT_DEFAULTS, **{k: v for k, v in flat.items() if k != "_target_"}}
    features_layout = _features_layout(c)
    w_dim, image, feature = c["w_dim"], c["image_resolution"], c["feature_resolution"]

    def field(prefix: str, feature_dim: int, appearance: bool, box: float | None) -> dict:
        return {
            "_target_": "giraffehd.networks.fields.FeatureField", "w_dim": w_dim, "feature_dim": feature_dim,
            "hidden_dim": c[f"{prefix}_hidden_dim"], "num_layers": c[f"{prefix}_num_layers"],
            "skip_layer": c[f"{prefix}_skip_layer"], "num_frequencies": c[f"{prefix}_num_frequencies"],
            "condition_on_appearance": appearance, "box_half_size": box,
        }  # fmt: skip

    widths = {"channel_base": c["channel_base"], "channel_max": c["channel_max"], "channel_min": c["channel_min"]}

    def synthesis(in_channels: int, out_channels: int) -> dict:
        return {
            "_target_": "giraffehd.networks.synthesis.SynthesisNetwork", "in_channels": in_channels,
            "in_resolution": feature, "out_resolution": image, "w_dim": w_dim, "out_channels": out_channels,
            **widths, "layers_per_block": c["layers_per_block"],
        }  # fmt: skip

    if features_layout:
        compositor = {
            "_target_": "giraffehd.model.feature_compositor.FeatureCompositor",
            "renderer": {
                "_target_": "giraffehd.networks.neural_renderer.NeuralRenderer", "in_channels": c["feature_dim"],
                "in_resolution": feature, "out_resolution": image, "out_channels": 3, **widths,
            },
            "mask_steepness": c["mask_steepness"],
        }  # fmt: skip
    else:
        refinement = None
        if c["refinement_channels"] is not None:
            refinement = {
                "_target_": "giraffehd.networks.refinement.RefinementNetwork", "w_dim": w_dim,
                "channels": c["refinement_channels"], "num_layers": c["refinement_num_layers"],
            }  # fmt: skip
        compositor = {
            "_target_": "giraffehd.model.image_compositor.ImageCompositor",
            "foreground_synthesis": synthesis(c["feature_dim"], 4 if c["mask_residual"] else 3),
            "background_synthesis": synthesis(c["background_feature_dim"], 3),
            "refinement": refinement, "injection_index": c["injection_index"],
            "mask_residual": c["mask_residual"], "mask_steepness": c["mask_steepness"],
        }  # fmt: skip
    return {
        "_target_": "giraffehd.model.generator.Generator",
        "image_resolution": image,
        "feature_resolution": feature,
        "styles": {"_target_": "giraffehd.model.styles.StyleMapper", "z_dim": c["z_dim"], "w_dim": w_dim,
                   "num_layers": c["mapping_layers"]},
        "features": {
            "_target_": "giraffehd.model.feature_renderer.FeatureMapRenderer", "resolution": feature,
            "object_field": field("object", c["feature_dim"], c["object_appearance_conditioning"], 1.0),
            "background_field": field("background", c["background_feature_dim"], features_layout, None),
            "num_object_samples": c["num_object_samples"], "num_background_samples": c["num_background_samples"],
            "background_depth_range": list(c["background_depth_range"]),
        },
        "compositor": compositor,
    }  # fmt: skip


def upgrade_state_dict(state: Mapping[str, torch.Tensor], model_config: Mapping) -> dict[str, torch.Tensor]:
    """Flat parameter names (``mapping_shape.*``, ``object_field.*``, ...) to the parts' names."""
    renderer = "compositor.foreground_synthesis." if not _features_layout(model_config) else "compositor.renderer."
    prefixes = {
        "mapping_shape.": "styles.mapping_shape.",
        "mapping_appearance.": "styles.mapping_appearance.",
        "w_avg_": "styles.w_avg_",
        "object_field.": "features.object_field.",
        "background_field.": "features.background_field.",
        "foreground_synthesis.": renderer,
        "background_synthesis.": "compositor.background_synthesis.",
        "refinement.": "compositor.refinement.",
    }
    upgraded = {}
    for key, value in state.items():
        old = next((p for p in prefixes if key.startswith(p)), None)
        upgraded[key if old is None else prefixes[old] + key[len(old) :]] = value
    return upgraded


def _features_layout(model_config: Mapping) -> bool:
    return model_config.get("composite", _FLAT_DEFAULTS["composite"]) == "features"
