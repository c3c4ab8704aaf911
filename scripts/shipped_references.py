"""Write tests/fixtures/shipped_references.pt: what each shipped model renders or reads at fixed inputs.

    .venv/bin/python scripts/shipped_references.py

Run it after replacing a file in models/ (and say why in the commit): tests/test_shipped_models.py
checks that the shipped models keep rendering and reading these values, so a refactor that changes
what a user's model produces fails a test. Generators: the EMA images of seeds 0-3 (training prior,
deterministic rendering). The evaluator: its readings of those images.
"""

import argparse
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
GENERATORS = ("models/demo_car_64.pt", "models/hd_car_256.pt")
EVALUATOR = "models/evaluator_car_32.pt"
SEEDS = (0, 1, 2, 3)


def generator_images(path: str) -> torch.Tensor:
    from giraffehd.model_io import load_model

    model = load_model(ROOT / path)
    scenes = [model.prior.sample(1, torch.Generator().manual_seed(seed)) for seed in SEEDS]
    with torch.no_grad():
        return torch.cat([model.generator(scene).image for scene in scenes])


def evaluator_readings(images: torch.Tensor) -> dict[str, torch.Tensor]:
    from giraffehd.evaluation.car.evaluator import load_evaluator

    evaluator = load_evaluator(ROOT / EVALUATOR).evaluator
    with torch.no_grad():
        reading = evaluator.read(images)
    return {"heading_deg": reading.heading_deg, "elevation_deg": reading.elevation_deg, "mask": reading.mask}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "tests" / "fixtures" / "shipped_references.pt")
    args = parser.parse_args()
    from giraffehd.atomic import write_atomically

    references = {"seeds": list(SEEDS), "generators": {path: generator_images(path) for path in GENERATORS}}
    references["evaluator"] = evaluator_readings(references["generators"][GENERATORS[0]])
    write_atomically(args.output, lambda file: torch.save(references, file))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
