"""Exponential moving average of a network's weights (the generator used for sampling and evaluation)."""

import torch
from torch import nn


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers are copied."""
    for ema_param, param in zip(ema.parameters(), model.parameters(), strict=True):
        ema_param.lerp_(param.detach(), 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), model.buffers(), strict=True):
        ema_buffer.copy_(buffer)


def ema_decay_for_half_life(half_life_images: float, batch_size: int) -> float:
    """The per-step decay whose weights halve after ``half_life_images`` images (StyleGAN2's ema_kimg)."""
    return 0.5 ** (batch_size / max(half_life_images, 1e-8))
