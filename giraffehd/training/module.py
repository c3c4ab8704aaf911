"""The LightningModule: orchestrates the G step, the D step with lazy R1, and the EMA generator.

Networks, the scene prior and partial optimizers come in ready-built (the entry point instantiates them
from Hydra configs); losses are the pure functions of :mod:`giraffehd.losses`. Optimization is manual:

1. G step: sample scenes, render with training randomness, non-saturating loss on D's logits plus
   GIRAFFE HD's mask losses against the objects' projected boxes (on the mask before steepening), and,
   for a compositor with an anchor (a trained low-resolution model inside), the anchor losses.
2. D step: real images against the G step's fakes, rendered before G's update (reusing them saves a
   second render per step); with dual discrimination each image sits beside its low-resolution version
   (the generator's low-resolution image for fakes, the downsampled image for reals). Every
   ``r1_interval`` steps the R1 penalty on reals, weighted gamma / 2 * interval (lazy regularization).
3. EMA of the generator.

With ``crop_size`` (crop training), the generator renders one random window of that side per scene at
full resolution, the reals are cut to windows of the same side, and the discriminator (of that
resolution) sees windows only (EpiGRAF, GRAM-HD): the top layers cost a fraction of a frame.

Parts named in ``frozen`` (module paths in the generator, e.g. ``features``) never train: they are left
out of the optimizer and get no gradients.

With a :class:`~giraffehd.training.steepness_ramp.SteepnessRamp`, each step first sets the mask steepness
of both generators (the trained one and the EMA) to the ramp's value for that step.

All training randomness (scenes, stratified samples, noise, style mixing) comes from one ``rng`` (a
``torch.Generator``) per step, seeded by (seed, step, rank), so a resumed run draws exactly what an
uninterrupted one would. ``global_step`` counts G+D steps: the D optimizer is stepped directly, not
through Lightning, so it does not advance the step counter a second time.
"""

import copy
import time
from collections.abc import Mapping, Sequence
from functools import partial

import lightning
import torch
from torch import Tensor

from giraffehd.losses import anchor_loss, discriminator_loss, generator_loss, nonfinite_check, r1_penalty
from giraffehd.model.anchored_compositor import AnchoredCompositor
from giraffehd.model.crops import crop_images, sample_crops
from giraffehd.model.generator import PART_PATHS, Generator
from giraffehd.model.image_compositor import ImageCompositor
from giraffehd.networks.discriminator import Discriminator
from giraffehd.rendering.box_projection import projected_box_mask, projected_box_rects, rects_to_masks
from giraffehd.scene import SceneParameters, ScenePrior
from giraffehd.training.dual_discrimination import dual_fake, dual_real
from giraffehd.training.ema import update_ema
from giraffehd.training.loss_settings import LossSettings
from giraffehd.training.mask_losses import MaskLosses, mask_losses
from giraffehd.training.steepness_ramp import SteepnessRamp

CHECKPOINT_VERSION = 1  # the checkpoint's extra entries; the generator's layout is in its stored config
GIRAFFE_HD_LOSSES = LossSettings()


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or Inf; training stops and the last checkpoint stays as it was."""


class GiraffeHDModule(lightning.LightningModule):
    def __init__(
        self,
        generator: Generator,
        discriminator: Discriminator,
        prior: ScenePrior,
        g_optimizer: partial,
        d_optimizer: partial,
        losses: LossSettings = GIRAFFE_HD_LOSSES,
        ema_decay: float = 0.9978,
        style_mixing_prob: float = 0.5,
        seed: int = 0,
        model_config: dict | None = None,
        part_lr: Mapping[str, float] | None = None,
        steepness_ramp: SteepnessRamp | None = None,
        dual_discrimination: bool = False,
        frozen: Sequence[str] = (),
        crop_size: int | None = None,
    ) -> None:
        super().__init__()
        if not 0 < ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
        if not 0 <= style_mixing_prob <= 1:
            raise ValueError(f"style_mixing_prob must be in [0, 1], got {style_mixing_prob}")
        part_lr = dict(part_lr or {})
        for part, lr in part_lr.items():
            if part not in PART_PATHS:
                raise ValueError(f"part_lr has no part {part!r}; the parts are {', '.join(PART_PATHS)}")
            if not lr > 0:
                raise ValueError(f"part_lr.{part} must be positive, got {lr}")
        seen = generator.image_resolution if crop_size is None else crop_size
        if crop_size is not None:
            if not getattr(generator.compositor, "supports_crops", False):
                raise ValueError(
                    f"crop_size needs a compositor that renders crops (the anchored compositor), not "
                    f"{type(generator.compositor).__name__}"
                )
            scale = generator.image_resolution // generator.compositor.low_resolution
            if not 0 < crop_size <= generator.image_resolution or crop_size % scale:
                raise ValueError(
                    f"crop_size must be at most the image's {generator.image_resolution} px and a multiple of "
                    f"{scale} (a whole pixel of the anchor), got {crop_size}"
                )
        if discriminator.resolution != seen:
            raise ValueError(
                f"the discriminator's resolution ({discriminator.resolution}) must be what it sees: "
                f"{'crop_size' if crop_size else 'the image resolution'} ({seen})"
            )
        image_channels = 6 if dual_discrimination else 3
        if discriminator.in_channels != image_channels:
            raise ValueError(
                f"dual_discrimination is {dual_discrimination}: the discriminator's in_channels must be "
                f"{image_channels} (RGB{' and the upsampled low-resolution RGB' if dual_discrimination else ''}), "
                f"got {discriminator.in_channels}"
            )
        if dual_discrimination and not isinstance(generator.compositor, ImageCompositor | AnchoredCompositor):
            raise ValueError(
                "dual_discrimination needs a compositor with a low-resolution image (model.compositor=image or "
                "anchored), not the feature compositor"
            )
        frozen = tuple(frozen)
        for path in frozen:
            try:
                generator.get_submodule(path)
            except AttributeError:
                raise ValueError(f"frozen has no generator part {path!r} (a module path such as features)") from None
        if (losses.anchor_image_weight > 0 or losses.anchor_mask_weight > 0) and isinstance(
            generator.compositor, AnchoredCompositor
        ):
            low = generator.compositor.low_resolution
            if losses.anchor_resolution > low:
                raise ValueError(
                    f"anchor_resolution ({losses.anchor_resolution}) must be at most the anchor's {low} px"
                )
        self.automatic_optimization = False
        self.generator = generator
        self.generator_ema = copy.deepcopy(generator).requires_grad_(False)
        self.discriminator = discriminator
        self.prior = prior
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.part_lr = part_lr  # parts not named here train at the generator optimizer's rate
        self.losses = losses
        self.ema_decay = ema_decay
        self.style_mixing_prob = style_mixing_prob
        self.seed = seed
        self.steepness_ramp = steepness_ramp  # None: the generator's own mask steepness throughout
        self.dual_discrimination = dual_discrimination
        self.frozen = frozen
        self.crop_size = crop_size
        self._crop_multiple = scale if crop_size is not None else 1  # window corners on whole anchor pixels
        self._frozen_ids = {id(p) for path in frozen for p in generator.get_submodule(path).parameters()}
        for path in frozen:
            generator.get_submodule(path).requires_grad_(False)
        self.final_mask_steepness = generator.mask_steepness
        self.model_config = model_config  # stored in checkpoints: what giraffehd.model_io needs to rebuild
        self._last_step_time: float | None = None

    def configure_optimizers(self):
        return [self.g_optimizer(self.generator_param_groups()), self.d_optimizer(self.discriminator.parameters())]

    def generator_param_groups(self) -> list[dict]:
        """The generator's parameters for its optimizer: the parts without a rate of their own in the first
        group (at the optimizer's rate), then one group per part named in ``part_lr``."""
        frozen = self._frozen_ids
        parts = {
            name: [p for p in self.generator.get_submodule(PART_PATHS[name]).parameters() if id(p) not in frozen]
            for name in self.part_lr
        }
        own = {id(p) for params in parts.values() for p in params} | frozen
        rest = [p for p in self.generator.parameters() if id(p) not in own]
        return [{"params": rest}] + [{"params": parts[name], "lr": lr} for name, lr in self.part_lr.items()]

    def step_rng(self, step: int) -> torch.Generator:
        """The source of all training randomness of one step (seeded by seed, step and rank)."""
        rank = self.trainer.global_rank if self._trainer is not None else 0
        return torch.Generator(self.device).manual_seed((self.seed * 1_000_003 + step) * 1_009 + rank)

    def on_train_epoch_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "set_epoch"):
            datamodule.set_epoch(self.current_epoch)  # seeded flips per epoch

    def training_step(self, real: Tensor, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        self.train_step(real, opt_g, opt_d, self.global_step)

    def _backward(self, loss: Tensor) -> None:
        if self._trainer is not None:
            self.manual_backward(loss)
        else:  # outside a Trainer (benchmarks)
            loss.backward()

    def train_step(self, real: Tensor, opt_g, opt_d, step: int) -> dict[str, Tensor]:
        """One G step, one D step (with R1 when due) and the EMA update; returns the losses."""
        rng = self.step_rng(step)
        batch = real.shape[0]
        if self.steepness_ramp is not None:
            steepness = self.steepness_ramp.at(step, self.final_mask_steepness)
            self.generator.mask_steepness = self.generator_ema.mask_steepness = steepness

        # G step.
        self._generator_trains(True)
        self.discriminator.requires_grad_(False)
        scene = self.prior.sample(batch, rng, self.device)
        crop = None
        if self.crop_size is not None:
            size, scale = self.generator.image_resolution, self._crop_multiple
            crop = sample_crops(batch, size, self.crop_size, scale, rng, self.device)
            real = crop_images(real, sample_crops(batch, size, self.crop_size, scale, rng, self.device))
        out = self.generator(
            scene, noise_mode="random", stratified=True, style_mixing_prob=self.style_mixing_prob, rng=rng, crop=crop
        )
        g_adv = generator_loss(self.discriminator(self._fake_input(out)))
        # The mask losses read the mask before steepening: the steepened one is flat (no gradient) where
        # the alpha is below 0.5 - 0.5 / steepness, where binarization would push a faint object out of sight.
        box = projected_box_mask(scene, self.generator.image_resolution, pad=self.losses.mask_box_pad)
        if crop is not None:
            box = crop_images(box, crop)
        object_boxes = None
        if self.losses.mask_object_min_coverage is not None:
            rects = projected_box_rects(scene, out.object_alpha.shape[-1], pad=self.losses.mask_box_pad)
            object_boxes = rects_to_masks(rects, out.object_alpha.shape[-1])
        masks = mask_losses(out.soft_mask, box, self.losses, out.object_alpha, object_boxes)
        g_total = g_adv + masks.total
        anchor = self._anchor_losses(out)
        if anchor:
            g_total = g_total + sum(weight * value for weight, value in anchor.values())
        self._stop_if_not_finite(step, {"g_loss": g_total})
        opt_g.zero_grad(set_to_none=True)
        self._backward(g_total)
        opt_g.step()

        # D step, with lazy R1.
        self._generator_trains(False)
        self.discriminator.requires_grad_(True)
        fake = self._fake_input(out).detach()  # the G step's images: one render per step, not two
        interval = self.losses.r1_interval
        do_r1 = interval > 0 and self.losses.r1_gamma > 0 and step % interval == 0
        real = real.detach().requires_grad_(do_r1)
        real_logits = self.discriminator(self._real_input(real))
        d_adv = discriminator_loss(real_logits, self.discriminator(fake))
        d_total = d_adv
        values = {"g_loss": g_adv, "d_loss": d_adv} | {name: value for name, (_, value) in anchor.items()}
        if do_r1:
            r1 = r1_penalty(real_logits, real)
            d_total = d_total + r1 * (self.losses.r1_gamma / 2 * interval)
            values["r1"] = r1
        self._stop_if_not_finite(step, values)
        opt_d.zero_grad(set_to_none=True)
        self._backward(d_total)
        getattr(opt_d, "optimizer", opt_d).step()  # the raw optimizer: global_step counts G+D steps once
        self._generator_trains(True)

        update_ema(self.generator_ema, self.generator, self.ema_decay)
        if self._trainer is not None:
            self._log_step(values, masks, real_logits, batch)
        return values

    def _generator_trains(self, trains: bool) -> None:
        """Gradients on or off for the generator's trained parameters (frozen parts stay off)."""
        for param in self.generator.parameters():
            param.requires_grad_(trains and id(param) not in self._frozen_ids)

    def _anchor_losses(self, out) -> dict[str, tuple[float, Tensor]]:
        """(weight, value) of each anchor loss that is on and that the compositor has an anchor for."""
        settings, found = self.losses, {}
        if settings.anchor_image_weight > 0 and out.low_image is not None and out.low_mask is not None:
            # anchor_resolution is the whole image's; a window is averaged by the same factor.
            size = settings.anchor_resolution * out.image.shape[-1] // self.generator.image_resolution
            value = anchor_loss(out.image, out.low_image.detach(), size)
            found["anchor_image"] = (settings.anchor_image_weight, value)
        if settings.anchor_mask_weight > 0 and out.low_mask is not None:
            value = anchor_loss(out.soft_mask, out.low_mask.detach(), out.low_mask.shape[-1])
            found["anchor_mask"] = (settings.anchor_mask_weight, value)
        return found

    def _fake_input(self, out) -> Tensor:
        """What D sees of a generated image (beside its low-resolution image with dual discrimination)."""
        return dual_fake(out.image, out.low_image) if self.dual_discrimination else out.image

    def _real_input(self, real: Tensor) -> Tensor:
        """A real image as D sees it (beside its own low-resolution version with dual discrimination)."""
        if not self.dual_discrimination:
            return real
        low_resolution = getattr(self.generator.compositor, "low_resolution", self.generator.feature_resolution)
        return dual_real(real, low_resolution, self.generator.image_resolution)

    def _stop_if_not_finite(self, step: int, values: dict[str, Tensor]) -> None:
        bad = nonfinite_check(values)
        if bad is not None:
            raise NonFiniteLossError(f"{bad} is not finite at step {step}; stopping")

    def _log_step(self, values: dict[str, Tensor], masks: MaskLosses, real_logits: Tensor, batch: int) -> None:
        logged = {f"train/{name}": value.detach() for name, value in values.items()}
        logged["train/mask_outside_box"] = masks.outside_box.detach()
        logged["train/mask_coverage"] = masks.coverage.detach()
        logged["train/mask_binarization"] = masks.binarization.detach()
        if self.losses.mask_object_min_coverage is not None:
            logged["train/mask_object_coverage"] = masks.object_coverage.detach()
        logged["train/real_logit"] = real_logits.detach().mean()
        self.log_dict(logged, on_step=True, prog_bar=False, batch_size=batch)
        now = time.perf_counter()
        if self._last_step_time is not None:
            images_per_s = batch * self.trainer.world_size / (now - self._last_step_time)
            self.log("images_per_s", images_per_s, on_step=True, prog_bar=True, batch_size=batch)
        self._last_step_time = now

    @torch.no_grad()
    def sample(self, scene: SceneParameters, truncation_psi: float = 1.0):
        """Deterministic rendering with the EMA generator (for grids and evaluation)."""
        return self.generator_ema(scene.to(self.device), truncation_psi=truncation_psi)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["giraffehd_version"] = CHECKPOINT_VERSION
        if self.model_config is not None:
            checkpoint["giraffehd_config"] = self.model_config
