"""Shared test set-up.

The shape annotations of the package (jaxtyping) are checked at run time in the tests only: the import
hook below wraps every annotated function and dataclass of ``giraffehd`` with a beartype check, so a
docstring-style shape that went stale fails a test instead of misleading a reader.
"""

from jaxtyping import install_import_hook

install_import_hook("giraffehd", "beartype.beartype")

import pytest  # noqa: E402
import torch  # noqa: E402


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
