"""Where a generator's forward pass spends its time and its floating-point work, part by part.

Parts are submodules named by their path in the generator (``GENERATOR_PARTS``); a part the model does
not have is left out. Time is read by forward hooks around each part (wall clock; on CUDA the hooks
synchronize the device so that each part's kernels are counted in it); what the named parts leave of a
parent (the rays, sampling and volume rendering of the 3D half; the mask and compositing arithmetic of
the 2D half) is reported as the parent's own remainder. FLOPs come from PyTorch's FLOP counter (matrix
products and convolutions; element-wise work is not counted), so a part's GFLOP/s is the rate of its
matrix and convolution work over its whole time.
"""

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from giraffehd.machine_peaks import device_sync
from giraffehd.model.generator import PART_PATHS

# Display name -> submodule path. Order: as a forward pass runs them.
GENERATOR_PARTS: dict[str, str] = {
    "mapping networks": PART_PATHS["styles"],
    "object field": PART_PATHS["object_field"],
    "background field": PART_PATHS["background_field"],
    "foreground renderer": "compositor.foreground_synthesis",
    "background renderer": "compositor.background_synthesis",
    "neural renderer": "compositor.renderer",
    "refinement": "compositor.refinement",
}
# Remainders: the parent's time less its named parts.
REMAINDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rays, sampling, volume rendering": ("features", ("object field", "background field")),
    "mask and compositing": (
        "compositor",
        ("foreground renderer", "background renderer", "neural renderer", "refinement"),
    ),
}


@dataclass(frozen=True)
class PartTiming:
    name: str
    seconds: float  # median over the timed passes
    share: float  # of the whole forward pass's median
    flops: int  # matrix-product and convolution FLOPs of one pass (0 where none)

    @property
    def gflops_per_s(self) -> float:
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ForwardBreakdown:
    seconds: float  # median of the whole forward pass
    parts: list[PartTiming]


def _submodules(model: nn.Module, paths: dict[str, str]) -> dict[str, nn.Module]:
    """``name -> model.get_submodule(path)`` for the paths ``model`` has (a missing or None one is skipped)."""
    found = {}
    for name, path in paths.items():
        try:
            found[name] = model.get_submodule(path)
        except AttributeError:
            continue
    return found


def present_parts(model: nn.Module) -> dict[str, nn.Module]:
    """The parts of ``GENERATOR_PARTS`` that ``model`` has."""
    return _submodules(model, GENERATOR_PARTS)


def forward_breakdown(
    model: nn.Module, run: Callable[[], object], repeats: int = 3, clock: Callable[[], float] = time.perf_counter
) -> ForwardBreakdown:
    """Time ``run()`` (one forward pass of ``model``) ``repeats`` times after one warm-up, part by part.

    The hooks cost a few microseconds per call, which the parts' times include. ``clock`` reads seconds
    (a test passes one it advances itself)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    parts = present_parts(model)
    parents = _submodules(model, {f"_{parent}": parent for parent, _ in REMAINDERS.values()})
    watched = {**parts, **parents}
    sync = device_sync(next(model.parameters()).device)
    totals: dict[str, float] = defaultdict(float)
    started: dict[str, float] = {}
    handles = []
    for name, module in watched.items():

        def before(_module, _args, name=name):
            sync()
            started[name] = clock()

        def after(_module, _args, _output, name=name):
            sync()
            totals[name] += clock() - started.pop(name)

        handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    per_pass: list[dict[str, float]] = []
    whole: list[float] = []
    try:
        for index in range(repeats + 1):
            totals.clear()
            sync()
            start = clock()
            run()
            sync()
            if index > 0:  # the first pass warms up
                whole.append(clock() - start)
                per_pass.append(dict(totals))
    finally:
        for handle in handles:
            handle.remove()
    flops = count_flops(model, parts, run)
    seconds = statistics.median(whole)
    timings = [
        PartTiming(name, t, t / seconds, flops.get(name, 0))
        for name in parts
        if (t := statistics.median([p.get(name, 0.0) for p in per_pass])) > 0
    ]
    for name, (parent, children) in REMAINDERS.items():
        if f"_{parent}" not in watched:
            continue
        rest = statistics.median([p.get(f"_{parent}", 0.0) - sum(p.get(c, 0.0) for c in children) for p in per_pass])
        timings.append(PartTiming(name, max(rest, 0.0), max(rest, 0.0) / seconds, 0))
    return ForwardBreakdown(seconds=seconds, parts=timings)


def count_flops(model: nn.Module, parts: dict[str, nn.Module], run: Callable[[], object]) -> dict[str, int]:
    """Matrix-product and convolution FLOPs of one ``run()``, per part (by the parts' module paths)."""
    paths = {module: path for path, module in model.named_modules()}
    counter = FlopCounterMode(display=False)
    with counter:
        run()
    counts = counter.get_flop_counts()
    root = type(model).__name__
    result = {}
    for name, module in parts.items():
        key = f"{root}.{paths[module]}"
        result[name] = int(sum(counts.get(key, {}).values()))
    result["total"] = int(sum(counts.get("Global", {}).values()))
    return result
