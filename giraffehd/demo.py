"""giraffehd-demo: render a hand-made toy car through the rendering core.

Until a generator is trained (later issues), the demo shows the 3D half of the pipeline with a field
whose geometry is known: camera rays, the object's box transform, samples only inside the box, volume
rendering, and the 2D composite over a background. It writes a camera-elevation sweep, an
object-rotation sweep, a depth/mask strip and a looping turntable video. Configuration: conf/demo.yaml.
"""

import sys
from dataclasses import dataclass
from pathlib import Path

import hydra
import torch
from jaxtyping import Float
from omegaconf import DictConfig
from torch import Tensor
from tqdm import tqdm

from giraffehd.allocator import keep_freed_memory
from giraffehd.media import make_grid, save_image, save_video
from giraffehd.rendering.camera import camera_to_world, generate_rays, intrinsics_from_fov
from giraffehd.rendering.compositing import composite_images
from giraffehd.rendering.ray_sampling import sample_in_boxes
from giraffehd.rendering.transforms import BoxTransform, rotation_about_up
from giraffehd.rendering.volume_rendering import render_rays
from giraffehd.toy_car import toy_car_field

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
_SKY, _GROUND = (0.80, 0.88, 0.97), (0.45, 0.45, 0.42)


@dataclass(frozen=True)
class ToyCarScene:
    """Fixed settings of a toy-car rendering (everything but the per-image pose and colour)."""

    image_size: int
    num_samples: int
    radius: float
    fov_deg: float
    scale: tuple[float, float, float]
    translation: tuple[float, float, float]
    light_direction: tuple[float, float, float]
    ambient: float


@dataclass(frozen=True)
class ToyCarImages:
    image: Float[Tensor, "B 3 H W"]
    mask: Float[Tensor, "B 1 H W"]
    depth: Float[Tensor, "B 1 H W"]


def render_toy_car(
    scene: ToyCarScene,
    azimuth_deg: Float[Tensor, " B"],
    elevation_deg: Float[Tensor, " B"],
    rotation_deg: Float[Tensor, " B"],
    body_colour: Float[Tensor, "B 3"],
) -> ToyCarImages:
    """Render B images of the toy car, one pose and body colour each."""
    batch, size = azimuth_deg.shape[0], scene.image_size
    options = {"dtype": azimuth_deg.dtype, "device": azimuth_deg.device}
    pose = camera_to_world(azimuth_deg, elevation_deg, torch.full((batch,), scene.radius, **options))
    rays = generate_rays(
        pose, intrinsics_from_fov(torch.full((batch,), scene.fov_deg, **options), size, size), size, size
    )
    rotation = rotation_about_up(rotation_deg)[:, None]
    transform = BoxTransform(
        scale=torch.tensor(scene.scale, **options).expand(batch, 1, 3),
        rotation=rotation,
        translation=torch.tensor(scene.translation, **options).expand(batch, 1, 3),
    )
    samples = sample_in_boxes(rays, transform, scene.num_samples)
    field = toy_car_field(samples.points, body_colour[:, None, None, None].expand_as(samples.points))
    # The field's density is per box-frame unit; deltas are world lengths.
    density = field.density / transform.scale.mean()
    normal_world = torch.einsum("bnij,bnrsj->bnrsi", rotation, field.normal)
    light = torch.nn.functional.normalize(torch.tensor(scene.light_direction, **options), dim=0)
    shade = scene.ambient + (1 - scene.ambient) * (normal_world @ light).clamp(min=0)
    rendered = render_rays(
        density[:, 0], (field.albedo * shade[..., None])[:, 0], samples.depths[:, 0], samples.deltas[:, 0]
    )

    def to_image(x: Tensor) -> Tensor:
        return x.reshape(batch, size, size, -1).permute(0, 3, 1, 2)

    mask = to_image(rendered.alpha[..., None])
    foreground = to_image(rendered.features) / mask.clamp(min=1e-6)  # un-premultiply
    upness = torch.sigmoid(8 * rays.directions[..., 1:2])
    background = to_image(torch.tensor(_GROUND, **options) * (1 - upness) + torch.tensor(_SKY, **options) * upness)
    return ToyCarImages(
        image=composite_images(foreground, background, mask), mask=mask, depth=to_image(rendered.depth[..., None])
    )


def _render_in_chunks(scene, poses, colours, progress, chunk: int = 8) -> ToyCarImages:
    azimuth, elevation, rotation = poses
    parts = []
    for start in range(0, azimuth.shape[0], chunk):
        window = slice(start, start + chunk)
        parts.append(render_toy_car(scene, azimuth[window], elevation[window], rotation[window], colours[window]))
        progress.update(parts[-1].image.shape[0])
    return ToyCarImages(*(torch.cat([getattr(p, f) for p in parts]) for f in ("image", "mask", "depth")))


def _check_config(cfg: DictConfig) -> None:
    def require(ok: bool, key: str, rule: str) -> None:
        if not ok:
            raise ValueError(f"{key} {rule}, got {cfg_get(key)!r}")

    def cfg_get(key: str):
        node = cfg
        for part in key.split("."):
            node = node[part]
        return node

    require(cfg.image_size >= 16 and cfg.image_size % 16 == 0, "image_size", "must be a positive multiple of 16 (MP4)")
    require(cfg.num_samples >= 1, "num_samples", "must be at least 1")
    require(cfg.camera.radius > 0, "camera.radius", "must be positive (scene units)")
    require(0 < cfg.camera.fov_deg < 180, "camera.fov_deg", "must be in (0, 180) degrees")
    require(all(s > 0 for s in cfg.car.scale) and len(cfg.car.scale) == 3, "car.scale", "must be 3 positive numbers")
    require(len(cfg.car.body_colours) >= 1, "car.body_colours", "must list at least one RGB colour")
    for sweep in ("elevation_sweep", "rotation_sweep"):
        rng = cfg[sweep].range_deg
        require(len(rng) == 2 and rng[0] <= rng[1], f"{sweep}.range_deg", "must be [low, high] with low <= high")
        require(cfg[sweep].num_steps >= 1, f"{sweep}.num_steps", "must be at least 1")
    require(cfg.turntable.num_frames >= 2, "turntable.num_frames", "must be at least 2")
    require(cfg.device in ("cpu", "cuda", "auto"), "device", "must be cpu, cuda or auto")


def run_demo(cfg: DictConfig) -> list[Path]:
    """Render every output of the demo; returns the written paths."""
    _check_config(cfg)
    device = (
        "cuda"
        if cfg.device == "auto" and torch.cuda.is_available()
        else ("cpu" if cfg.device == "auto" else cfg.device)
    )
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    scene = ToyCarScene(
        image_size=cfg.image_size,
        num_samples=cfg.num_samples,
        radius=cfg.camera.radius,
        fov_deg=cfg.camera.fov_deg,
        scale=tuple(cfg.car.scale),
        translation=tuple(cfg.car.translation),
        light_direction=tuple(cfg.light.direction),
        ambient=cfg.light.ambient,
    )
    colours = torch.tensor([list(c) for c in cfg.car.body_colours], device=device)
    num_colours = colours.shape[0]

    def linspace(rng, steps):
        return torch.linspace(rng[0], rng[1], steps, device=device)

    def grid_poses(azimuth, elevation, rotation):
        """Rows = body colours, columns = the sweep's steps."""
        poses = (azimuth.repeat(num_colours), elevation.repeat(num_colours), rotation.repeat(num_colours))
        return poses, colours.repeat_interleave(elevation.shape[0], dim=0)

    es, rs, tt = cfg.elevation_sweep, cfg.rotation_sweep, cfg.turntable
    elevations = linspace(es.range_deg, es.num_steps)
    rotations = linspace(rs.range_deg, rs.num_steps)
    turn = torch.arange(tt.num_frames, device=device) * (360.0 / tt.num_frames)  # seamless loop

    def const(value, like):
        return torch.full_like(like, float(value))

    jobs = {
        "elevation_sweep": grid_poses(
            const(cfg.camera.azimuth_deg, elevations), elevations, const(es.rotation_deg, elevations)
        ),
        "rotation_sweep": grid_poses(
            const(cfg.camera.azimuth_deg, rotations), const(cfg.camera.elevation_deg, rotations), rotations
        ),
        "turntable": (
            (const(cfg.camera.azimuth_deg, turn), const(cfg.camera.elevation_deg, turn), turn),
            colours[:1].expand(tt.num_frames, 3),
        ),
    }
    total = sum(job[1].shape[0] for job in jobs.values())
    written = []
    with tqdm(total=total, desc="rendering toy car", unit="img") as progress:
        results = {name: _render_in_chunks(scene, poses, cols, progress) for name, (poses, cols) in jobs.items()}
    for name, steps in (("elevation_sweep", es.num_steps), ("rotation_sweep", rs.num_steps)):
        images = results[name].image.reshape(num_colours, steps, 3, scene.image_size, scene.image_size)
        written.append(save_image(make_grid(images), out / f"{name}.png"))
    first_row = results["rotation_sweep"]
    depth = first_row.depth[: rs.num_steps]
    near, far = cfg.camera.radius - 1.0, cfg.camera.radius + 1.0
    depth_vis = torch.where(depth > 0, 1 - (depth - near) / (far - near), torch.zeros_like(depth)).expand(-1, 3, -1, -1)
    strip = torch.stack(
        [first_row.image[: rs.num_steps], first_row.mask[: rs.num_steps].expand(-1, 3, -1, -1), depth_vis]
    )
    written.append(save_image(make_grid(strip), out / "image_mask_depth.png"))
    written.append(save_video(results["turntable"].image, out / "turntable.mp4", fps=tt.fps))
    written.append(save_video(results["turntable"].image, out / "turntable.gif", fps=tt.fps))
    return written


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="demo")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        paths = run_demo(cfg)
    except ValueError as error:
        print(f"giraffehd-demo: error: {error}", file=sys.stderr)
        sys.exit(2)
    for path in paths:
        print(f"wrote {path}")


def main() -> None:
    keep_freed_memory()
    _hydra_main()


if __name__ == "__main__":
    main()
