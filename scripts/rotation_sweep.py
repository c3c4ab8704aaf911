"""Render an object-rotation sweep from a training run's EMA generator: rows = seeds, columns = angles.

    .venv/bin/python scripts/rotation_sweep.py runs/demo --output renders/demo_training/rotation_sweep.png

Reads RUN/config.yaml (the resolved training config) and RUN/checkpoints/last.ckpt (weights only).
Every other factor of a seed stays fixed along its row. A stop-gap until giraffehd-render exists.
"""

import argparse
import sys
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from giraffehd.allocator import keep_freed_memory
from giraffehd.media import make_grid, save_image
from giraffehd.scene import ScenePrior
from giraffehd.training.checkpoint_io import CheckpointError, load_checkpoint_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder written by giraffehd-train")
    parser.add_argument("--output", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--seeds", type=int, default=6, help="rows (default 6)")
    parser.add_argument("--steps", type=int, default=8, help="angles over 360 degrees (default 8)")
    parser.add_argument("--elevation", type=float, default=None, help="camera elevation in degrees (default: sampled)")
    args = parser.parse_args()
    keep_freed_memory()
    try:
        cfg = OmegaConf.load(args.run / "config.yaml")
        checkpoint = load_checkpoint_file(args.run / "checkpoints" / "last.ckpt")
    except (OSError, CheckpointError) as error:
        sys.exit(f"rotation_sweep: error: {error}")
    generator = instantiate(cfg.model)
    prefix = "generator_ema."
    generator.load_state_dict(
        {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    )
    generator.eval()
    plain = OmegaConf.to_container(cfg, resolve=True)
    prior = ScenePrior.from_groups(plain["camera"], plain["objects"], z_dim=cfg.model.z_dim)
    angles = torch.arange(args.steps) * (360.0 / args.steps)
    rows = []
    with torch.no_grad():
        for seed in range(args.seeds):
            fixed = {"object_rotation_deg": angles[:, None]}
            if args.elevation is not None:
                fixed["camera_elevation_deg"] = args.elevation
            base = prior.sample(1, torch.Generator().manual_seed(seed))
            scene = base.select(torch.zeros(args.steps, dtype=torch.long)).replace(**fixed)
            rows.append((generator(scene).image.clamp(-1, 1) + 1) / 2)
    path = save_image(make_grid(torch.stack(rows)), args.output)
    print(f"wrote {path} (step {checkpoint['global_step']})")


if __name__ == "__main__":
    main()
