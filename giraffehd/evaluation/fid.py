"""FID and KID of generated images against real images, with clean-fid's clean protocol, offline.

The parts: inception.py (the offline Inception network and clean-fid's resize), fid_features.py (image files,
generated images, batches and the reference cache), fid_score.py (FID and KID from features). This module
runs them in order for one generator and one reference set.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float

from giraffehd.evaluation.fid_features import default_cache_dir, reference_features, reference_files, sample_features
from giraffehd.evaluation.fid_score import fid_from_features, kid_from_features
from giraffehd.evaluation.inception import load_inception, resolve_weights, weights_sha256

# Images per call of sample_images and per Inception batch: CPU throughput does not grow with the batch
# (docs/evaluation_fid.md), so CPU batches stay small.
DEFAULT_BATCH_SIZE = {"cpu": 8, "cuda": 64}
# Sample counts for entry points. FID depends on the count (it is biased upwards at small counts): compare
# only scores measured with the same counts.
DEFAULT_NUM_SAMPLES = {"cpu": 256, "cuda": 10_000}


@dataclass(frozen=True)
class QualityScores:
    """FID and KID of ``num_samples`` generated images against ``num_reference`` real ones (clean-fid)."""

    fid: float
    kid: float  # mean over KID subsets, as cleanfid.fid.compute_kid reports it
    kid_std: float  # standard deviation of the per-subset KID estimates
    num_samples: int
    num_reference: int
    mode: str  # always "clean"
    weights: str  # the Inception file used
    weights_sha256: str
    reference_cache: str  # the .npz holding the reference features


def compute_quality(
    sample_images: Callable[[int, int], Float[torch.Tensor, "B 3 H W"]],
    num_samples: int,
    reference: str | Path | Sequence[str | Path],
    weights: str | Path | None = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    *,
    num_reference: int | None = None,
    cache_dir: str | Path | None = None,
    num_kid_subsets: int = 100,
    seed: int = 0,
) -> QualityScores:
    """FID and KID (clean-fid, clean mode) of ``num_samples`` generated images against a set of real images.

    ``sample_images(start, count)`` returns generated images ``start .. start + count - 1`` as floats in [0, 1],
    shape (count, 3, H, W); it is called with consecutive ranges, so seeding by index makes the result
    reproducible. ``reference`` is a folder (all images under it, sorted, the first ``num_reference``; None: all)
    or a list of image files. ``batch_size`` None: 8 on CPU, 64 on CUDA; ``device`` None: CUDA when available.
    ``seed`` draws KID's subsets.
    """
    if num_samples < 2:
        raise ValueError(f"FID needs at least 2 samples, got num_samples={num_samples}")
    device = torch.device(device if device is not None else "cuda" if torch.cuda.is_available() else "cpu")
    batch_size = batch_size or DEFAULT_BATCH_SIZE.get(device.type, DEFAULT_BATCH_SIZE["cpu"])
    path = resolve_weights(weights)
    sha = weights_sha256(path)
    model = load_inception(path, device)
    files = reference_files(reference, num_reference)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    fake = sample_features(sample_images, num_samples, model, batch_size, device, progress)
    real = reference_features(files, model, sha, cache, batch_size, device, progress)
    rng = np.random.RandomState(seed)  # clean-fid draws its subsets with the legacy generator
    kid = kid_from_features(fake, real.features, rng, num_kid_subsets)
    return QualityScores(
        fid=fid_from_features(fake, real.features),
        kid=kid.mean,
        kid_std=kid.std,
        num_samples=num_samples,
        num_reference=len(files),
        mode="clean",
        weights=str(path),
        weights_sha256=sha,
        reference_cache=str(real.cache_file),
    )
