"""Generator speed at named model configurations: images per second (no grad) and peak memory.

    .venv/bin/python scripts/bench.py                       # giraffehd_64 and giraffehd_lean_256
    .venv/bin/python scripts/bench.py --model tiny --batch 4
    .venv/bin/python scripts/bench.py --device cuda         # on a GPU
    .venv/bin/python scripts/bench.py --experiment hd_car_256 --train-step   # a training recipe's own G, D and step
    .venv/bin/python scripts/bench.py --experiment hd_car_256 --train-step \
        --override training.crop_size=null --override discriminator.resolution=256   # the recipe, whole frames
    .venv/bin/python scripts/bench.py --report              # where the time goes, against the machine's peaks
    .venv/bin/python scripts/bench.py --under-load          # idle against one competing busy process

Each configuration runs in a fresh subprocess so that its peak memory is its own. Models come from
conf/model/NAME.yaml with random weights, or, with --experiment, the generator, discriminator, optimizers
and losses of conf/experiment/NAME.yaml as giraffehd-train builds them (random weights); scenes from the
default prior (GIRAFFE HD's cars ranges).
Like the entry points, it keeps freed memory in the process (giraffehd/allocator.py); set
GIRAFFEHD_DEFAULT_MALLOC=1 to measure with glibc's defaults. Prints one Markdown table row per configuration.

--report runs in one process: the machine's fp32 matmul and 3x3 conv throughput, then per configuration
(default: both GIRAFFE sizes and the hd_car_256 recipe) the generator's images/s, each part's share of a
forward pass with its GFLOP/s against those peaks (giraffehd/part_timing.py), and the G+D step with and
without R1 with the discriminator's share (its passes of one step timed alone). --under-load times each
configuration's generation and training step on the idle machine and beside one busy process (a Python
loop on one core), alternating, each in a fresh process, and prints the ratio.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ("giraffehd_64", "giraffehd_lean_256")
DEFAULT_REPORT_EXPERIMENTS = ("hd_car_256",)


def measure(
    model: str,
    batch: int,
    repeats: int,
    device_name: str,
    train_step: bool = False,
    experiment: bool = False,
    precision: str = "fp32",
    overrides: tuple[str, ...] = (),
) -> dict:
    """``model`` names conf/model/NAME.yaml, or conf/experiment/NAME.yaml when ``experiment``; ``precision``
    "bf16" runs the passes under bfloat16 autocast (what ``trainer=bf16`` trains with)."""
    from giraffehd.allocator import keep_freed_memory

    tuned = keep_freed_memory()
    import torch

    from giraffehd.config import build_model
    from giraffehd.machine_peaks import device_sync
    from giraffehd.scene import ScenePrior

    device = pick_device(device_name)
    autocast = partial(torch.autocast, device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    module = recipe_module(model, overrides) if experiment else None
    generator = (module.generator if module is not None else build_model(model)).to(device).eval()
    prior = ScenePrior(z_dim=generator.z_dim)
    scenes = [prior.sample(batch, torch.Generator(device).manual_seed(i), device) for i in range(repeats + 1)]

    sync = device_sync(device)

    timings = []
    with torch.no_grad(), autocast():
        for index, scene in enumerate(scenes):
            sync()
            start = time.perf_counter()
            generator(scene)
            sync()
            if index > 0:  # the first pass warms up
                timings.append(time.perf_counter() - start)
    step_times = (
        measure_training_step(generator.train(), batch, repeats, device, sync, module, autocast)[0]
        if train_step
        else {}
    )
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = statistics.median(timings)
    field = generator.features.object_field
    return {
        "model": " ".join([model, *overrides]),
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
        "omp_wait_policy": _openmp_setting(),
        "precision": precision,
        **step_times,
    }


def recipe_module(experiment: str, overrides: tuple[str, ...] = ()):
    """The training module of ``giraffehd-train experiment=NAME`` plus ``overrides`` (random weights, no data
    read)."""
    from hydra import compose, initialize_config_dir

    from giraffehd.config_types import CONF_DIR
    from giraffehd.train import build_module
    from giraffehd.training.preflight import check_config

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}", "data.path=/nonexistent", *overrides])
    return build_module(cfg, check_config(cfg))


def measure_training_step(
    generator, batch: int, repeats: int, device, sync, module=None, autocast=contextlib.nullcontext
) -> tuple[dict, object]:
    """Median seconds of one G+D step (the training module's own step), without and with R1, and the module.

    ``module``: a recipe's training module (its discriminator, optimizers and losses, R1 forced every
    other step); None: a default discriminator around ``generator``."""
    import dataclasses

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
        with autocast():
            module.train_step(real, opt_g, opt_d, step)
        sync()
        if step >= 2:
            times[step % 2].append(time.perf_counter() - start)
    return {"step_s": statistics.median(times[1]), "step_r1_s": statistics.median(times[0])}, module


def _openmp_setting() -> str:
    """OMP_WAIT_POLICY and GOMP_SPINCOUNT as this process started torch with."""
    setting = os.environ.get("OMP_WAIT_POLICY", "unset")
    if "GOMP_SPINCOUNT" in os.environ:
        setting += f", GOMP_SPINCOUNT={os.environ['GOMP_SPINCOUNT']}"
    return setting


def pick_device(device_name: str):
    import torch

    if device_name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device_name)


def discriminator_seconds(module, batch: int, repeats: int, device, sync) -> dict:
    """Median seconds of the discriminator's own passes in one training step, timed alone: the G step's
    (forward of a fake batch, backward to the images only, D frozen) and the D step's (real and fake
    forwards and the backward to D's weights), without and with R1."""
    import torch

    from giraffehd.losses import discriminator_loss, generator_loss, r1_penalty

    discriminator = module.discriminator
    shape = (batch, discriminator.in_channels, discriminator.resolution, discriminator.resolution)
    rng = torch.Generator(device).manual_seed(0)
    real = torch.rand(shape, generator=rng, device=device) * 2 - 1
    fake = torch.rand(shape, generator=rng, device=device) * 2 - 1

    def one_step(with_r1: bool) -> None:
        discriminator.requires_grad_(False)
        images = fake.clone().requires_grad_(True)
        generator_loss(discriminator(images)).backward()
        discriminator.requires_grad_(True)
        reals = real.detach().requires_grad_(with_r1)
        real_logits = discriminator(reals)
        loss = discriminator_loss(real_logits, discriminator(fake))
        if with_r1:
            loss = loss + r1_penalty(real_logits, reals) * module.losses.r1_gamma
        loss.backward()
        discriminator.zero_grad(set_to_none=True)

    times = {False: [], True: []}
    for index in range(repeats + 1):
        for with_r1 in (False, True):
            sync()
            start = time.perf_counter()
            one_step(with_r1)
            sync()
            if index > 0:
                times[with_r1].append(time.perf_counter() - start)
    return {"d_s": statistics.median(times[False]), "d_r1_s": statistics.median(times[True])}


def report(models: list[str], experiments: list[str], batch: int, repeats: int, device_name: str) -> None:
    """The --report mode (module docstring), printed as Markdown, in this process."""
    from giraffehd.allocator import keep_freed_memory

    keep_freed_memory()
    import torch

    from giraffehd.config import build_model
    from giraffehd.machine_peaks import conv_peak, device_sync, matmul_peak
    from giraffehd.part_timing import forward_breakdown
    from giraffehd.scene import ScenePrior

    device = pick_device(device_name)

    sync = device_sync(device)

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    print(
        f"# Speed report, {datetime.date.today().isoformat()}, {platform.node()}, {where}, torch {torch.__version__}, "
        f"batch {batch}, OpenMP: {_openmp_setting()}\n"
    )
    peaks = {"matmul": matmul_peak(device), "conv": conv_peak(device)}
    print("| machine peak (fp32) | GFLOP/s | at |\n|---|---|---|")
    for kind, peak in peaks.items():
        print(f"| {kind} | {peak.gflops_per_s:.1f} | {peak.shape} |")
    matmul_parts = {"mapping networks", "object field", "background field"}
    for name, is_experiment in [(m, False) for m in models] + [(e, True) for e in experiments]:
        module = recipe_module(name) if is_experiment else None
        generator = (module.generator if module is not None else build_model(name)).to(device).eval()
        scene = ScenePrior(z_dim=generator.z_dim).sample(batch, torch.Generator(device).manual_seed(0), device)
        with torch.no_grad():
            breakdown = forward_breakdown(generator, lambda generator=generator, scene=scene: generator(scene), repeats)
        kind = "experiment" if is_experiment else "model"
        print(
            f"\n## {kind} {name}: {generator.image_resolution} px, {batch / breakdown.seconds:.1f} images/s "
            f"({breakdown.seconds * 1000:.0f} ms per batch of {batch}, no grad)\n"
        )
        print("| part | ms | share | GFLOP per batch | GFLOP/s | of peak |\n|---|---|---|---|---|---|")
        for part in breakdown.parts:
            if part.flops:
                peak = peaks["matmul" if part.name in matmul_parts else "conv"]
                rate = f"{part.gflops_per_s:.1f} | {part.gflops_per_s / peak.gflops_per_s:.0%}"
            else:
                rate = "- | -"
            print(f"| {part.name} | {part.seconds * 1000:.1f} | {part.share:.1%} | {part.flops / 1e9:.2f} | {rate} |")
        step, module = measure_training_step(generator.train(), batch, repeats, device, sync, module)
        d = discriminator_seconds(module, batch, repeats, device, sync)
        print(
            f"\nG+D step (batch {batch}): {step['step_s']:.2f} s without R1, {step['step_r1_s']:.2f} s with R1; "
            f"the discriminator's passes alone: {d['d_s']:.2f} s ({d['d_s'] / step['step_s']:.0%}) and "
            f"{d['d_r1_s']:.2f} s ({d['d_r1_s'] / step['step_r1_s']:.0%})",
            flush=True,
        )
        del module, generator


def under_load(args, configurations: list[tuple[str, str]]) -> None:
    """The --under-load mode (module docstring)."""
    print(
        f"# {datetime.date.today().isoformat()}, {platform.node()}, {os.cpu_count()} CPUs, one busy competitor, "
        f"{args.rounds} alternating rounds, batch {args.batch}\n"
    )
    print(
        "| configuration | OpenMP | images/s idle | loaded | ratio | step s idle | loaded | ratio |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for group, name in configurations:
        results = {False: [], True: []}
        for _ in range(args.rounds):
            for loaded in (False, True):
                competitor = (
                    subprocess.Popen([sys.executable, "-c", "while True: pass"]) if loaded else None
                )  # fmt: skip
                try:
                    results[loaded].append(_single(args, group, name, train_step=True))
                finally:
                    if competitor is not None:
                        competitor.kill()
                        competitor.wait()
        idle_ips = statistics.median(r["images_per_s"] for r in results[False])
        load_ips = statistics.median(r["images_per_s"] for r in results[True])
        idle_step = statistics.median(r["step_s"] for r in results[False])
        load_step = statistics.median(r["step_s"] for r in results[True])
        print(
            f"| {name} | {results[False][0]['omp_wait_policy']} | {idle_ips:.1f} | {load_ips:.1f} "
            f"| {load_ips / idle_ips:.2f} | {idle_step:.2f} | {load_step:.2f} | {idle_step / load_step:.2f} |",
            flush=True,
        )


def _single(args, group: str, name: str, train_step: bool) -> dict:
    """One configuration measured in a fresh process (its peak memory its own)."""
    command = [
        sys.executable, __file__, "--single", group, name, "--batch", str(args.batch), "--repeats",
        str(args.repeats), "--device", args.device, "--precision", args.precision,
        *(["--train-step"] if train_step else []),
        *[item for override in args.override for item in ("--override", override)],
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: {name} failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="bf16: under bfloat16 autocast")
    parser.add_argument("--train-step", action="store_true", help="also time one G+D training step (with/without R1)")
    parser.add_argument("--report", action="store_true", help="where the time goes, in one process (see above)")
    parser.add_argument("--under-load", action="store_true", help="idle against one busy competitor (see above)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of --under-load (default 2)")
    parser.add_argument(
        "--override", action="append", default=[], help="a Hydra override for --experiment (repeatable), KEY=VALUE"
    )
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    experiments = args.experiment or []
    models = args.model or ([] if experiments else list(DEFAULT_MODELS))
    if args.report and not args.model and not args.experiment:
        experiments = list(DEFAULT_REPORT_EXPERIMENTS)
    for group, names in (("model", models), ("experiment", experiments)):
        for name in names:
            if not (ROOT / "conf" / group / f"{name}.yaml").is_file():
                parser.error(f"unknown {group} {name!r}: no conf/{group}/{name}.yaml")
    if args.report:
        report(models, experiments, args.batch, args.repeats, args.device)
        return
    if args.under_load:
        under_load(args, [("--model", m) for m in models] + [("--experiment", e) for e in experiments])
        return
    if args.single:
        name, is_experiment = (experiments[0], True) if experiments else (models[0], False)
        result = measure(
            name, args.batch, args.repeats, args.device, args.train_step, is_experiment, args.precision,
            tuple(args.override),
        )  # fmt: skip
        print(json.dumps(result))
        return
    date = datetime.date.today().isoformat()
    allocator = "glibc defaults" if os.environ.get("GIRAFFEHD_DEFAULT_MALLOC") == "1" else "freed memory kept"
    print(f"# {date}, {platform.node()}, {os.cpu_count()} CPUs, allocator: {allocator}")
    print(
        "| model | px | feature map | field | samples in box | batch | images/s (median; min-max) | peak MB "
        "| params (M) | device | precision | torch | G+D step s (with R1) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for group, model in [("--model", m) for m in models] + [("--experiment", e) for e in experiments]:
        r = _single(args, group, model, args.train_step)
        print(
            f"| {r['model']} | {r['image']} | {r['feature_map']} | {r['field']} | {r['samples_in_box']} | {r['batch']} "
            f"| {r['images_per_s']:.1f} ({r['min_images_per_s']:.1f}-{r['max_images_per_s']:.1f}) | {r['peak_mb']:.0f} "
            f"| {r['parameters_m']:.2f} | {r['device']} | {r['precision']} | {r['torch']} "
            f"| {_step_cell(r)} |",
            flush=True,
        )


def _step_cell(result: dict) -> str:
    if "step_s" not in result:
        return "not measured"
    return f"{result['step_s']:.2f} ({result['step_r1_s']:.2f})"


if __name__ == "__main__":
    main()
