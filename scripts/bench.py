"""Generator speed at named model configurations: images per second (no grad) and peak memory.

    .venv/bin/python scripts/bench.py                       # giraffe_cars_64 and giraffe_256
    .venv/bin/python scripts/bench.py --model tiny --batch 4
    .venv/bin/python scripts/bench.py --device cuda         # on a GPU
    .venv/bin/python scripts/bench.py --experiment hd_car_256 --train-step   # a training recipe's own G, D and step

Each configuration runs in a fresh subprocess so that its peak memory is its own. Models come from
conf/model/NAME.yaml with random weights, or, with --experiment, the generator, discriminator, optimizers
and losses of conf/experiment/NAME.yaml as giraffehd-train builds them (random weights); scenes from the
default prior (GIRAFFE HD's cars ranges).
Like the entry points, it keeps freed memory in the process (giraffehd/allocator.py); set
GIRAFFEHD_DEFAULT_MALLOC=1 to measure with glibc's defaults. Prints one Markdown table row per configuration.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ("giraffe_cars_64", "giraffe_256")


def measure(
    model: str, batch: int, repeats: int, device_name: str, train_step: bool = False, experiment: bool = False
) -> dict:
    """``model`` names conf/model/NAME.yaml, or conf/experiment/NAME.yaml when ``experiment``."""
    from giraffehd.allocator import keep_freed_memory

    tuned = keep_freed_memory()
    import torch

    from giraffehd.config import build_model
    from giraffehd.scene import ScenePrior

    device = torch.device(
        "cuda" if device_name == "auto" and torch.cuda.is_available() else device_name.replace("auto", "cpu")
    )
    module = recipe_module(model) if experiment else None
    generator = (module.generator if module is not None else build_model(model)).to(device).eval()
    prior = ScenePrior(z_dim=generator.z_dim)
    scenes = [prior.sample(batch, torch.Generator(device).manual_seed(i), device) for i in range(repeats + 1)]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    timings = []
    with torch.no_grad():
        for index, scene in enumerate(scenes):
            sync()
            start = time.perf_counter()
            generator(scene)
            sync()
            if index > 0:  # the first pass warms up
                timings.append(time.perf_counter() - start)
    step_times = measure_training_step(generator.train(), batch, repeats, device, sync, module) if train_step else {}
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = statistics.median(timings)
    field = generator.features.object_field
    return {
        "model": model,
        "image": generator.image_resolution,
        "feature_map": generator.feature_resolution,
        "field": f"{field.input_points.out_features}x{len(field.hidden) + 1}",
        "samples_in_box": generator.features.num_object_samples,
        "batch": batch,
        "images_per_s": batch / seconds,
        "min_images_per_s": batch / max(timings),
        "max_images_per_s": batch / min(timings),
        "peak_mb": peak_mb,
        "parameters_m": sum(p.numel() for p in generator.parameters()) / 1e6,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}",
        "torch": torch.__version__,
        "allocator": "kept" if tuned else "default",
        **step_times,
    }


def recipe_module(experiment: str):
    """The training module of ``giraffehd-train experiment=NAME`` (random weights, no data read)."""
    from hydra import compose, initialize_config_dir

    from giraffehd.train import CONF_DIR, build_module, check_config

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}", "data.path=/nonexistent"])
    return build_module(cfg, check_config(cfg))


def measure_training_step(generator, batch: int, repeats: int, device, sync, module=None) -> dict:
    """Median seconds of one G+D step (the training module's own step), without and with R1.

    ``module``: a recipe's training module (its discriminator, optimizers and losses, R1 forced every
    other step); None: a default discriminator around ``generator``."""
    import dataclasses
    from functools import partial

    import torch

    from giraffehd.networks.discriminator import Discriminator
    from giraffehd.scene import ScenePrior
    from giraffehd.training.module import GiraffeHDModule, LossSettings

    if module is None:
        discriminator = Discriminator(generator.image_resolution, channel_base=2048, channel_max=128)
        adam = partial(torch.optim.Adam, lr=5e-4, betas=(0.0, 0.99))
        module = GiraffeHDModule(
            generator, discriminator, ScenePrior(z_dim=generator.z_dim), adam, adam, LossSettings(r1_interval=2)
        )
    else:
        module.losses = dataclasses.replace(module.losses, r1_interval=2)
    module = module.to(device)
    opt_g, opt_d = module.configure_optimizers()
    real = torch.rand(batch, 3, generator.image_resolution, generator.image_resolution, device=device) * 2 - 1
    times = {0: [], 1: []}  # step % 2 == 0: with R1
    for step in range(2 * repeats + 2):
        sync()
        start = time.perf_counter()
        module.train_step(real, opt_g, opt_d, step)
        sync()
        if step >= 2:
            times[step % 2].append(time.perf_counter() - start)
    return {"step_s": statistics.median(times[1]), "step_r1_s": statistics.median(times[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", action="append", help="conf/model/NAME.yaml (repeatable); default: both GIRAFFE sizes"
    )
    parser.add_argument(
        "--experiment", action="append", help="conf/experiment/NAME.yaml (repeatable): its G, D and training step"
    )
    parser.add_argument("--batch", type=int, default=16, help="scenes per forward pass (default 16)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes after one warm-up (default 5)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--train-step", action="store_true", help="also time one G+D training step (with/without R1)")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    experiments = args.experiment or []
    models = args.model or ([] if experiments else list(DEFAULT_MODELS))
    for group, names in (("model", models), ("experiment", experiments)):
        for name in names:
            if not (ROOT / "conf" / group / f"{name}.yaml").is_file():
                parser.error(f"unknown {group} {name!r}: no conf/{group}/{name}.yaml")
    if args.single:
        name, is_experiment = (experiments[0], True) if experiments else (models[0], False)
        print(json.dumps(measure(name, args.batch, args.repeats, args.device, args.train_step, is_experiment)))
        return
    date = datetime.date.today().isoformat()
    allocator = "glibc defaults" if os.environ.get("GIRAFFEHD_DEFAULT_MALLOC") == "1" else "freed memory kept"
    print(f"# {date}, {platform.node()}, {os.cpu_count()} CPUs, allocator: {allocator}")
    print(
        "| model | px | feature map | field | samples in box | batch | images/s (median; min-max) | peak MB "
        "| params (M) | device | torch | G+D step s (with R1) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for group, model in [("--model", m) for m in models] + [("--experiment", e) for e in experiments]:
        command = [
            sys.executable,
            __file__,
            "--single",
            group,
            model,
            "--batch",
            str(args.batch),
            "--repeats",
            str(args.repeats),
            "--device",
            args.device,
            *(["--train-step"] if args.train_step else []),
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"bench: {model} failed:\n{result.stderr.strip()}")
        r = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"| {r['model']} | {r['image']} | {r['feature_map']} | {r['field']} | {r['samples_in_box']} | {r['batch']} "
            f"| {r['images_per_s']:.1f} ({r['min_images_per_s']:.1f}-{r['max_images_per_s']:.1f}) | {r['peak_mb']:.0f} "
            f"| {r['parameters_m']:.2f} | {r['device']} | {r['torch']} "
            f"| {_step_cell(r)} |",
            flush=True,
        )


def _step_cell(result: dict) -> str:
    if "step_s" not in result:
        return "not measured"
    return f"{result['step_s']:.2f} ({result['step_r1_s']:.2f})"


if __name__ == "__main__":
    main()
