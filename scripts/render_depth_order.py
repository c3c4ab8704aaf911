"""Two objects passing in depth: object 1 slides along z from behind object 0 to in front of it.

    python scripts/render_depth_order.py --checkpoint models/clevr_64.pt --output renders/clevr_64/depth_order

Writes NAME.png (rows: seeds; columns: object 1's depth), NAME_depth.png (white = near) and NAME.mp4. The
other object slots are emptied, so the picture shows the compositing order alone: where the two overlap,
the nearer one must cover the farther one. Also an example of the Python API (giraffehd.sweeps.api).
"""

import argparse

import torch

from giraffehd.scene import SceneParameters
from giraffehd.sweeps import api


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/clevr_64.pt")
    parser.add_argument("--output", default="renders/clevr_64/depth_order", help="path without suffix")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--steps", type=int, default=8, help="grid columns")
    parser.add_argument("--frames", type=int, default=48, help="video frames (there and back)")
    parser.add_argument("--depth", type=float, nargs=2, default=[-0.45, 0.45], help="object 1's z range, scene units")
    parser.add_argument("--video-size", type=int, default=256, help="side of each seed's tile in the video, px")
    args = parser.parse_args()

    model = api.load_model(args.checkpoint)
    if model.prior.num_objects < 2:
        parser.error(f"{args.checkpoint} draws one object; this needs two")
    scenes = api.sample_rows(model.prior, args.seeds)
    base = torch.cat([row[0].object_translation for row in scenes])  # S N 3
    present = torch.zeros(len(args.seeds), model.prior.num_objects, dtype=torch.bool)
    present[:, :2] = True

    def passing(values: torch.Tensor):
        """Every seed's scene at each of object 1's depths ``values`` (S * T scenes, seed-major)."""
        seed_scenes = [row[0].replace(object_present=present[i : i + 1]) for i, row in enumerate(scenes)]
        out = []
        for i, scene in enumerate(seed_scenes):
            translation = base[i : i + 1].repeat(len(values), 1, 1)
            translation[:, 0] = torch.tensor([0.0, 0.0, 0.0])  # object 0 at the centre of the floor
            translation[:, 1, 0] = 0.08  # object 1 a little to the side, so that both show where they overlap
            translation[:, 1, 2] = values
            out.append(scene.select(torch.zeros(len(values), dtype=torch.long)).replace(object_translation=translation))
        return out

    low, high = args.depth
    grid_values = torch.linspace(low, high, args.steps)
    phase = torch.arange(args.frames) * (2 * torch.pi / args.frames)
    video_values = low + (high - low) * (1 - torch.cos(phase)) / 2  # there and back: the video loops
    grid = api.render(model.generator, SceneParameters.cat(passing(grid_values)))
    s, t = len(args.seeds), args.steps
    api.write_grid(grid.image.reshape(s, t, *grid.image.shape[1:]), f"{args.output}.png")
    depth = api.depth_to_image(grid.depth, grid.alpha, grid.image.shape[-1], (1.8, 3.6))
    api.write_grid(depth.reshape(s, t, *depth.shape[1:]), f"{args.output}_depth.png")
    video = api.render(model.generator, SceneParameters.cat(passing(video_values)))
    frames = video.image.reshape(s, args.frames, *video.image.shape[1:])
    api.write_video(frames, f"{args.output}.mp4", size=args.video_size)
    print(f"wrote {args.output}.png, {args.output}_depth.png and {args.output}.mp4")


if __name__ == "__main__":
    main()
