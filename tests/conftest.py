"""Shared test set-up.

The shape annotations of the package (jaxtyping) are checked at run time in the tests only: the import
hook below wraps every annotated function and dataclass of ``giraffehd`` with a beartype check, so a
docstring-style shape that went stale fails a test instead of misleading a reader.
"""

from jaxtyping import install_import_hook

install_import_hook("giraffehd", "beartype.beartype")

import pytest  # noqa: E402
import torch  # noqa: E402

# Generator sizes small enough for many forward and backward passes per test (build_generator kwargs).
TINY_GENERATOR = dict(
    z_dim=8,
    w_dim=16,
    mapping_layers=2,
    feature_dim=8,
    object_hidden_dim=16,
    object_num_layers=3,
    object_skip_layer=1,
    object_num_frequencies=3,
    background_feature_dim=8,
    background_hidden_dim=16,
    background_num_layers=2,
    background_num_frequencies=2,
    num_object_samples=6,
    num_background_samples=3,
    channel_base=256,
    channel_max=16,
    channel_min=8,
    refinement_channels=8,
)


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
