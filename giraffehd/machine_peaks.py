"""The machine's own fp32 throughput for the two kinds of work the generator does: matrix products (the
fields' MLPs) and 3x3 convolutions (the 2D renderers and the discriminator). The speed report divides
each part's achieved rate by these, so a figure reads as "this share of what this machine can do".

Each is the best of a few sizes (the smallest sizes do not fill a wide machine; the largest are what
saturates it), timed as the median of ``repeats`` runs after a warm-up.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MATMUL_SIZES = (1024, 2048)  # square fp32 torch.mm, n x n times n x n
CONV_SHAPES = ((16, 64, 64), (16, 128, 32))  # (batch, channels in = out, side) of a 3x3 "same" conv


@dataclass(frozen=True)
class Peak:
    gflops_per_s: float
    shape: str  # the size that reached it


def _median_seconds(
    run: Callable[[], object], repeats: int, sync: Callable[[], None], clock: Callable[[], float]
) -> float:
    times = []
    for index in range(repeats + 1):
        sync()
        start = clock()
        run()
        sync()
        if index > 0:
            times.append(clock() - start)
    return statistics.median(times)


def device_sync(device: torch.device) -> Callable[[], None]:
    """What waits for ``device``'s queued work before a clock is read (nothing on the CPU)."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def matmul_peak(
    device: torch.device, repeats: int = 5, sizes=MATMUL_SIZES, clock: Callable[[], float] = time.perf_counter
) -> Peak:
    """Best fp32 ``torch.mm`` rate over ``sizes`` (2 n^3 FLOPs per product); ``clock`` reads seconds."""
    best = Peak(0.0, "")
    rng = torch.Generator(device).manual_seed(0)
    for n in sizes:
        a = torch.randn(n, n, generator=rng, device=device)
        b = torch.randn(n, n, generator=rng, device=device)
        seconds = _median_seconds(lambda a=a, b=b: torch.mm(a, b), repeats, device_sync(device), clock)
        rate = 2 * n**3 / seconds / 1e9
        if rate > best.gflops_per_s:
            best = Peak(rate, f"mm {n}x{n}")
    return best


def conv_peak(
    device: torch.device, repeats: int = 5, shapes=CONV_SHAPES, clock: Callable[[], float] = time.perf_counter
) -> Peak:
    """Best fp32 3x3 ``conv2d`` rate over ``shapes`` (2 B C_out H W C_in 9 FLOPs per convolution);
    ``clock`` reads seconds."""
    best = Peak(0.0, "")
    rng = torch.Generator(device).manual_seed(0)
    for batch, channels, side in shapes:
        x = torch.randn(batch, channels, side, side, generator=rng, device=device)
        w = torch.randn(channels, channels, 3, 3, generator=rng, device=device)
        seconds = _median_seconds(lambda x=x, w=w: F.conv2d(x, w, padding=1), repeats, device_sync(device), clock)
        rate = 2 * batch * channels * side * side * channels * 9 / seconds / 1e9
        if rate > best.gflops_per_s:
            best = Peak(rate, f"conv3x3 {batch}x{channels}x{side}x{side}")
    return best
