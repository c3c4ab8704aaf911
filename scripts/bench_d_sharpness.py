"""How fast a fresh discriminator tells sharp images from the same images upscaled: the signal an
upsampler trained against it gets for sharpness.

    .venv/bin/python scripts/bench_d_sharpness.py                      # the hd_car_256 recipe's D, raw images
    .venv/bin/python scripts/bench_d_sharpness.py --highpass-input     # the same D with the detail channels
    .venv/bin/python scripts/bench_d_sharpness.py --crop 256 --lr 0.002   # whole 256 px frames

Reals: the first ``--images`` images of the data set; fakes: the same images area-downsampled by
``--factor`` and upscaled bicubically. Each step draws 16 reals and 16 fakes (independently), cuts one
random window of ``--crop`` px from each, and takes one Adam step of the logistic discriminator loss (no
R1). Prints the loss every 25 steps (chance: 1.39).
"""

import argparse
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch
import torch.nn.functional as F

from giraffehd.losses import discriminator_loss
from giraffehd.model.crops import crop_images, sample_crops
from giraffehd.networks.discriminator import Discriminator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/synthetic_car_256/images", help="folder of 256 px PNG images")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--factor", type=int, default=4, help="downsampling factor of the fakes")
    parser.add_argument("--crop", type=int, default=128, help="window side, pixels (the D's resolution)")
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--highpass-input", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    files = sorted(Path(args.data).glob("*.png"))[: args.images]
    if len(files) < 16:
        sys.exit(f"bench_d_sharpness: error: {args.data} holds {len(files)} PNG images, need at least 16")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    real = torch.tensor(np.stack([imageio.imread(f)[..., :3] for f in files])).permute(0, 3, 1, 2).float() / 127.5 - 1
    size = real.shape[-1]
    low = F.interpolate(real, size=size // args.factor, mode="area")
    fake = F.interpolate(low, size=size, mode="bicubic", align_corners=False)
    d = Discriminator(args.crop, channel_base=4096, channel_max=64, channel_min=16, highpass_input=args.highpass_input)
    optimizer = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.0, 0.99))
    rng = torch.Generator().manual_seed(0)
    print(f"D at {args.crop} px, lr {args.lr}, highpass_input {args.highpass_input}: step, loss")
    for step in range(args.steps + 1):
        i, j = (torch.randint(0, len(files), (16,), generator=rng) for _ in range(2))
        r = crop_images(real[i], sample_crops(16, size, args.crop, args.factor, rng, "cpu"))
        f = crop_images(fake[j], sample_crops(16, size, args.crop, args.factor, rng, "cpu"))
        loss = discriminator_loss(d(r), d(f))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 0:
            print(step, round(loss.item(), 3), flush=True)


if __name__ == "__main__":
    main()
