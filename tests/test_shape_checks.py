"""The shape annotations are enforced in the test run (see conftest), so they cannot go stale."""

import pytest
import torch
from jaxtyping import TypeCheckError

from giraffehd.rendering.volume_rendering import RenderedRays, render_rays


def test_annotated_function_shapes_are_checked():
    with pytest.raises(TypeCheckError):
        render_rays(torch.ones(4, 8), torch.ones(4, 8, 3), torch.ones(4, 8), torch.ones(4, 7))


def test_annotated_dataclass_fields_are_checked():
    with pytest.raises(TypeCheckError):
        RenderedRays(features=torch.ones(4, 3), depth=torch.ones(5), alpha=torch.ones(4), weights=torch.ones(4, 8))
