"""What the three reader networks share: the car evaluator, the scene evaluator and the pose encoder.

Each reads images back into knobs or objects; each is saved as one tagged file (its format, constructor
arguments, weights and training report), fitted by the same loop (Adam, a learning rate shaped per step,
a loss per batch), and may blur and add noise to its training images so that softer generated images read
like the sharp renders it learned from. The networks themselves, their losses and their data stay in their
own rooms (evaluation/car, evaluation/scenes, inversion).
"""

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from jaxtyping import Float
from torch import Tensor, nn
from torch.nn import functional as F
from tqdm import tqdm

from giraffehd.atomic import write_atomically
from giraffehd.torch_files import read_tagged_file

Network = TypeVar("Network", bound=nn.Module)
Batch = TypeVar("Batch")


@dataclass(frozen=True)
class ReaderFile:
    """One kind of reader file: its format tag, its name in messages, how to make one, and its error."""

    format: str
    noun: str  # "evaluator", "scene evaluator", "pose encoder"
    how_to_make: str  # follows a missing file's message
    error: type[Exception]


def save_reader(network: nn.Module, kind: ReaderFile, report: dict, path: str | Path) -> Path:
    """Write ``network``'s constructor arguments (its ``arguments()``), weights and ``report`` atomically."""
    payload = {
        "format": kind.format,
        "arguments": network.arguments(),
        "state": {k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
        "report": report,
    }
    return write_atomically(path, lambda file: torch.save(payload, file))


def load_reader(path: str | Path, kind: ReaderFile, build: Callable[[dict], Network]) -> tuple[Network, dict]:
    """(network in eval mode without gradients, its report): ``build(arguments)`` makes the network the file
    describes, then its weights are loaded. A file that does not fit is one line of ``kind.error``."""
    path = Path(path)
    raw = read_tagged_file(path, kind.format, kind.noun, kind.how_to_make, kind.error)
    try:
        network = build(dict(raw["arguments"]))
        network.load_state_dict(raw["state"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        message = " ".join(str(error).split())[:200]
        raise kind.error(f"{path} does not match the {kind.noun}: {message}") from None
    return network.eval().requires_grad_(False), dict(raw.get("report") or {})


def blur_and_noise(images: Float[Tensor, "B 3 H W"], rng: torch.Generator) -> Float[Tensor, "B 3 H W"]:
    """Blend towards a 3x3 box blur by up to 60% and add Gaussian noise of up to 0.03 (per image)."""
    b = images.shape[0]
    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    amount = 0.6 * torch.rand(b, 1, 1, 1, generator=rng)
    noise = 0.03 * torch.rand(b, 1, 1, 1, generator=rng) * torch.randn(images.shape, generator=rng)
    return images + amount * (blurred - images) + noise


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """The learning rate's share at each step: a linear warm-up over ``warmup_steps``, with a cosine decay
    from 1 at step 0 to 0 at ``total_steps`` over the whole run."""
    return lambda step: min(1.0, (step + 1) / warmup_steps) * 0.5 * (1 + math.cos(math.pi * step / total_steps))


def epochs_of(num_items: int, batch_size: int, epochs: int, rng: torch.Generator) -> Iterable[Tensor]:
    """The indices of each batch: every epoch a fresh order of ``num_items`` drawn from ``rng``, cut into
    batches (the last one of an epoch may be smaller). Lazy: each epoch's order is drawn when it begins."""
    for _ in range(epochs):
        order = torch.randperm(num_items, generator=rng)
        for start in range(0, num_items, batch_size):
            yield order[start : start + batch_size]


def fit(
    network: nn.Module,
    batches: Iterable[Batch],
    loss_of: Callable[[Batch], Tensor],
    lr: float,
    lr_share: Callable[[int], float],
    on_step: Callable[[float], object] | None = None,
) -> int:
    """Fit ``network`` with Adam: for each batch, the learning rate ``lr * lr_share(step)``, then one step on
    ``loss_of(batch)``; ``on_step(loss)`` after each. Leaves the network in eval mode without gradients and
    returns the number of steps taken."""
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    network.train().requires_grad_(True)
    step = 0
    for step, batch in enumerate(batches, start=1):
        for group in optimizer.param_groups:
            group["lr"] = lr * lr_share(step - 1)
        loss = loss_of(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(float(loss.detach()))
    network.eval().requires_grad_(False)
    return step


@contextmanager
def progress_bar(total_steps: int, desc: str, enabled: bool = True) -> Iterator[Callable[[float], None]]:
    """A progress bar over a fit's steps, showing the last loss; yields the ``on_step`` that advances it."""
    bar = tqdm(total=total_steps, desc=desc, unit="step", disable=not enabled)

    def on_step(loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    try:
        yield on_step
    finally:
        bar.close()


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
