"""Shared test set-up.

The shape annotations of the package (jaxtyping) are checked at run time in the tests only: the import
hook below wraps every annotated function and dataclass of ``giraffehd`` with a beartype check, so a
docstring-style shape that went stale fails a test instead of misleading a reader.
"""

from jaxtyping import install_import_hook

install_import_hook("giraffehd", "beartype.beartype")

import subprocess  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

# Generator sizes small enough for many forward and backward passes per test: overrides of the tiny
# preset (conf/model/tiny.yaml), relative to the model group.
TINY_GENERATOR = (
    "styles.z_dim=8",
    "styles.w_dim=16",
    "features.object_field.feature_dim=8",
    "features.object_field.hidden_dim=16",
    "features.object_field.skip_layer=1",
    "features.object_field.num_frequencies=3",
    "features.background_field.feature_dim=8",
    "features.background_field.hidden_dim=16",
    "features.background_field.num_frequencies=2",
)
_TINY_RENDERERS = {
    "image": (
        "compositor.foreground_synthesis.channel_base=256",
        "compositor.foreground_synthesis.channel_max=16",
        "compositor.foreground_synthesis.channel_min=8",
    ),
    "features": (
        "compositor.renderer.channel_base=256",
        "compositor.renderer.channel_max=16",
        "compositor.renderer.channel_min=8",
        "compositor.mask_steepness=1.0",
    ),
    "anchored": (
        "compositor.renderer.channel_base=256",
        "compositor.renderer.channel_max=16",
        "compositor.renderer.channel_min=8",
        "compositor.renderer.out_resolution=16",
        "features.alpha_resolution=16",
        "compositor.foreground_upsampler.channel_base=64",
        "compositor.foreground_upsampler.channel_max=8",
        "compositor.foreground_upsampler.channel_min=4",
        "compositor.background_upsampler.channel_base=64",
        "compositor.background_upsampler.channel_max=8",
        "compositor.background_upsampler.channel_min=4",
    ),
}


def tiny_generator(*overrides: str, layout: str = "image", seed: int = 0):
    """A tiny generator in the given layout ("image": GIRAFFE HD, "features": GIRAFFE, "anchored": GIRAFFE HD's
    upsamplers over GIRAFFE's renderer at 16 px), seeded weights."""
    from giraffehd.config import build_model

    preset = {"image": "tiny", "features": "demo_features", "anchored": "hd_car_256"}[layout]
    sizes = ("image_resolution=32", "feature_resolution=8", "features.num_object_samples=6",
             "features.num_background_samples=3")  # fmt: skip
    torch.manual_seed(seed)
    return build_model(preset, [*sizes, *TINY_GENERATOR, *_TINY_RENDERERS[layout], *overrides])


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    """24 synthetic cars at 32 px (images/, masks/ and labels.json under the returned folder's parent)."""
    from giraffehd.data.synthetic.writer import SyntheticSpec, synthesize
    from giraffehd.scene import ScenePrior

    root = tmp_path_factory.mktemp("data") / "cars"
    prior = ScenePrior(z_dim=1, elevation_deg=[10, 30], scale=[[0.2, 0.2]] * 3, translation=[[0, 0]] * 3)
    synthesize(root, prior, SyntheticSpec(["car"], {"red": [0.8, 0.1, 0.1], "blue": [0.1, 0.3, 0.8]}), 24, 32)
    return root / "images"


def _tiny_train_config(images, run_dir, *overrides: str):
    """conf/train.yaml composed for a 4-step CPU run of the tiny model on ``images`` (32 px)."""
    from hydra import compose, initialize_config_dir

    from giraffehd.config_types import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            "train",
            [
                "model=tiny",
                f"data.path={images}",
                "data.resolution=32",
                "data.batch_size=4",
                "data.num_workers=0",
                f"run_dir={run_dir}",
                "discriminator.channel_base=256",
                "discriminator.channel_max=16",
                "trainer.max_steps=4",
                "trainer.log_every_n_steps=1",
                "+trainer.enable_progress_bar=false",
                "training.losses.r1_interval=2",
                "checkpoint.every_n_steps=2",
                "samples.every_n_steps=2",
                "samples.num_samples=4",
                *overrides,
            ],
        )


@pytest.fixture(scope="session")
def tiny_train_config():
    """``tiny_train_config(images, run_dir, *overrides)``: a composed config for a 4-step tiny CPU run."""
    return _tiny_train_config


@pytest.fixture(scope="session")
def tiny_run(images, tmp_path_factory):
    """A run folder trained for 4 steps (tiny model, 32 px); treat it as read-only."""
    from giraffehd.train import train

    return train(_tiny_train_config(images, tmp_path_factory.mktemp("tiny_run") / "run"))


def assert_close_in_norm(actual: torch.Tensor, expected: torch.Tensor, rel: float = 1e-3, name: str = "") -> None:
    """||actual - expected|| <= rel * ||expected||: for gradients of two orderings of the same arithmetic, where
    rounding can move a pre-activation across lrelu's kink and change a few elements' slopes (0.2 vs 1)."""
    error = (actual - expected).norm().item()
    assert error <= rel * expected.norm().item(), f"{name}: |diff| {error:.3g} vs |expected| {expected.norm():.3g}"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The image checks' cache of the tests lives in the test session's folder, not the user's."""
    import os

    os.environ["GIRAFFEHD_CACHE"] = str(tmp_path_factory.mktemp("cache"))


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the viewer's browser tests could not run (no headless Chromium on this machine)."""
    import shutil

    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        terminalreporter.section("viewer browser tests NOT RUN", sep="!", red=True, bold=True)
        terminalreporter.line(
            "headless Chromium not found: install it (root: apt-get update && apt-get install -y chromium); "
            ".ci/run does",
            red=True,
        )


@pytest.fixture
def mount(tmp_path):
    """``mount(options)``: a fresh tmpfs with ``options`` (e.g. size=64k, ro), or a skip where this machine
    does not let the tests mount one (not root, or no mount capability)."""
    mounted = []

    def make(options: str):
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip() or 'not permitted'})")
        mounted.append(target)
        return target

    yield make
    for target in mounted:
        subprocess.run(["umount", str(target)], check=False)
