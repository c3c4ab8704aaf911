"""Dependencies point one way: the generator and its math never import the tools built on them, and tools
do not reach into each other for what belongs lower down (rendering scenes, camera limits)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "giraffehd"
CORE = ("rendering", "networks", "model", "scene", "media", "atomic")
TOOLS = ("sweeps", "viewer", "mesh", "inversion", "evaluation", "training", "train", "demo", "data")


def imported_parts(path: Path) -> set[str]:
    """The first name after ``giraffehd.`` of every import in ``path`` (top level and inside functions)."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        parts |= {name.split(".")[1] for name in names if name.startswith("giraffehd.")}
    return parts


def modules_of(part: str) -> list[Path]:
    folder = PACKAGE / part
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{part}.py"]


@pytest.mark.parametrize("part", CORE)
def test_the_core_imports_no_tool(part):
    offending = {str(path.relative_to(PACKAGE)): sorted(imported_parts(path) & set(TOOLS)) for path in modules_of(part)}
    assert {k: v for k, v in offending.items() if v} == {}


@pytest.mark.parametrize(("tool", "forbidden"), [("mesh", "viewer"), ("viewer", "mesh"), ("inversion", "viewer")])
def test_tools_do_not_reach_into_each_other(tool, forbidden):
    assert [str(p.relative_to(PACKAGE)) for p in modules_of(tool) if forbidden in imported_parts(p)] == []


@pytest.mark.parametrize(("room", "forbidden"), [("quality", ("car", "scenes")), ("car", ("scenes",))])
def test_evaluation_rooms_depend_one_way(room, forbidden):
    """quality knows nothing of the controls; the car's scorecard knows nothing of multi-object scenes."""
    offending = []
    for path in sorted((PACKAGE / "evaluation" / room).rglob("*.py")):
        text = path.read_text()
        offending += [f"{path.name}: {f}" for f in forbidden if f"giraffehd.evaluation.{f}" in text]
    assert offending == []


def test_a_tool_renders_through_the_model_not_the_python_facade():
    facade_users = [
        str(p.relative_to(PACKAGE))
        for part in ("viewer", "mesh", "inversion", "evaluation")
        for p in modules_of(part)
        if "giraffehd.sweeps.api" in p.read_text()
    ]
    assert facade_users == []


@pytest.mark.parametrize("module", ["model_io", "torch_files"])
def test_reading_models_and_checkpoints_does_not_import_training(module):
    """Training loads models (init_from) and writes checkpoints; the readers every tool shares sit below it,
    so that no import goes round in a circle."""
    assert "training" not in imported_parts(PACKAGE / f"{module}.py")
