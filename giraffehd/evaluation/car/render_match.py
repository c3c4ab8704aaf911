"""Render-and-match: read an image's heading and camera elevation by matching it against the synthetic
dataset's own ray tracer, rendered over a grid of headings and elevations (render_candidates.py).

A second reader beside the evaluator (evaluator.py): it has no learned weights, so what it misreads on a
generated image is the image's error rather than a network's. The scene's camera and object translation
are known from the knob sweep; the object's colour is not, so for every candidate the body colour that
fits the image best is solved for in closed form (least squares: the renders are linear in it), and the
residual after that fit is the candidate's score.

Steps, for each image:
1. coarse: the image, moved so that the translated object's projected centre is at the image centre,
   against every candidate at the candidates' size;
2. registration: around the best coarse candidate, the shift (a few pixels), size (about 10%) and blur
   that fit best, since a generated object sits a little off, is a little too big or small, and is soft;
3. fine: the registered image, resampled once from full resolution, against every heading at the
   elevations near the coarse one; a parabola through the best candidate's neighbours places the
   heading and elevation between grid values;
4. the reading is corrected for the direction the translated object is seen from (the candidates sit
   at the origin), so one candidate set serves every translation.
Axis legend: B images, L blur levels, H headings, E elevations, P pixels per side, G registrations tried.
"""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import torch
from jaxtyping import Float, Int
from torch import Tensor

from giraffehd.evaluation.alignment import wrap_degrees
from giraffehd.evaluation.car.placement import centre_offsets, placed, to_size
from giraffehd.evaluation.car.render_candidates import Candidates, RenderMatchError
from giraffehd.rendering.camera import camera_position
from giraffehd.scene import SceneParameters

SCENE_TOLERANCE = 1e-4  # a scene's camera radius and field of view must equal the candidates'
# The registration's search (shifts in pixels at the candidates' size, per axis; sizes relative to theirs):
# shifts first, then sizes at the best shift. It reaches a shift of 1.5 px and a size 10% off.
SHIFTS = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
SCALES = (0.9, 0.95, 1.0, 1.05, 1.1)
# The fine stage keeps, for each candidate, the best of these shifts about the registered one, so that a
# shift left over by the registration is not read as a turn.
FINE_SHIFTS = (-0.25, 0.0, 0.25)
FINE_ELEVATIONS = 2  # grid steps either side of the coarse elevation searched at full resolution


@dataclass(frozen=True)
class MatchReading:
    """What render-and-match reads from B images (the evaluator's conventions)."""

    heading_deg: Float[Tensor, " B"]  # object rotation minus camera azimuth, in [-180, 180)
    elevation_deg: Float[Tensor, " B"]  # camera elevation
    residual: Float[Tensor, " B"]  # root mean square residual of the best candidate after the colour fit, [0, 1]
    colour: Float[Tensor, "B 3"]  # the body colour that fits best (RGB, in [0, 1] where the image is a render)


def colour_fit_residuals(
    queries: Float[Tensor, "B E 3 P P"], fixed: Float[Tensor, "H E 3 P P"], body: Float[Tensor, "H E P P"]
) -> tuple[Float[Tensor, "B H E"], Float[Tensor, "B H E 3"]]:
    """Mean squared residual of each query row against each candidate of its elevation, after the best
    body colour per channel (least squares: colour = <q - fixed, body> / <body, body>), and that colour."""
    b, e = queries.shape[:2]
    q = queries.reshape(b, e, 3, -1)
    f = fixed.reshape(*fixed.shape[:2], 3, -1)
    s = body.reshape(*body.shape[:2], -1)
    qs = torch.einsum("becn,hen->bhec", q, s)
    fs = torch.einsum("hecn,hen->hec", f, s)
    ss = (s * s).sum(dim=-1).clamp(min=1e-8)
    colour = (qs - fs) / ss[..., None]
    squared = (q * q).sum(dim=(2, 3))[:, None] - 2 * torch.einsum("becn,hecn->bhe", q, f) + (f * f).sum(dim=(2, 3))
    residual = squared - ((qs - fs) ** 2).sum(dim=-1) / ss
    return residual.clamp(min=0) / (3 * q.shape[-1]), colour


def parabola_vertex(before: Tensor, at: Tensor, after: Tensor) -> Tensor:
    """Where a parabola through (-1, before), (0, at), (1, after) has its minimum, clamped to [-0.5, 0.5];
    0 where the three values do not curve upwards."""
    curvature = before - 2 * at + after
    vertex = 0.5 * (before - after) / curvature.clamp(min=1e-12)
    return torch.where(curvature > 0, vertex.clamp(-0.5, 0.5), torch.zeros_like(vertex))


def apparent_view(
    translation: Float[Tensor, "B 3"],
    azimuth_deg: Float[Tensor, " B"],
    elevation_deg: Float[Tensor, " B"],
    radius: Float[Tensor, " B"],
) -> tuple[Float[Tensor, " B"], Float[Tensor, " B"]]:
    """Azimuth and elevation (degrees) of the camera as seen from an object at ``translation``: the view
    of the object at the origin that its render resembles (the camera still looks at the origin)."""
    offset = camera_position(azimuth_deg, elevation_deg, radius) - translation
    azimuth = torch.rad2deg(torch.atan2(offset[:, 0], offset[:, 2]))
    elevation = torch.rad2deg(torch.asin(offset[:, 1] / offset.norm(dim=-1)))
    return azimuth, elevation


def own_candidate_residuals(
    queries: Float[Tensor, "B G 3 P P"], fixed: Float[Tensor, "B 3 P P"], body: Float[Tensor, "B P P"]
) -> Float[Tensor, "B G"]:
    """:func:`colour_fit_residuals` of G versions of each image against that image's own candidate."""
    # The images take the place of the elevation axis, which pairs each query row with its own candidates.
    residual, _ = colour_fit_residuals(queries.transpose(0, 1), fixed[None], body[None])  # (G, 1, B)
    return residual[:, 0].transpose(0, 1)


@dataclass(frozen=True)
class Registration:
    shift_px: Float[Tensor, "B 2"]  # the object's offset from its expected place, pixels at the candidates' size
    scale: Float[Tensor, " B"]  # its size relative to the candidates'
    level: Int[Tensor, " B"]  # the blur level of the candidates that fits best


def register(
    small: Float[Tensor, "B 3 P P"],
    expected: Float[Tensor, "B 2"],
    fixed: Float[Tensor, "B L 3 P P"],
    body: Float[Tensor, "B L P P"],
) -> Registration:
    """The shift, size and blur level that best fit each image (at the candidates' size, its object expected
    ``expected`` pixels from the centre) to its own candidate, found by a search: shifts at the middle blur
    level, then sizes at the best shift, then the blur level."""
    b, levels = fixed.shape[:2]
    rows = torch.arange(b)
    middle = torch.full((b,), levels // 2, dtype=torch.long)

    def best(shifts: Float[Tensor, "B G 2"], scales: Float[Tensor, "B G"]) -> tuple[Tensor, Tensor]:
        versions = placed(small, expected[:, None] + shifts, scales, small.shape[-1])
        pick = own_candidate_residuals(versions, fixed[rows, middle], body[rows, middle]).argmin(dim=1)
        return shifts[rows, pick], scales[rows, pick]

    grid = torch.tensor(list(product(SHIFTS, SHIFTS)))
    shift, _ = best(grid.expand(b, -1, -1), torch.ones(b, len(grid)))
    shift, scale = best(shift[:, None].expand(-1, len(SCALES), -1), torch.tensor(SCALES).expand(b, -1))
    version = placed(small, (expected + shift)[:, None], scale[:, None], small.shape[-1])
    residual = torch.stack([own_candidate_residuals(version, fixed[:, k], body[:, k])[:, 0] for k in range(levels)])
    return Registration(shift, scale, residual.argmin(dim=0))


def best_with_vertex(residual: Float[Tensor, "B H E"]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Indices of each image's best candidate, and the parabola's vertex about it along each axis (in grid
    steps; headings wrap around, elevations stop at the ends of the rows given)."""
    b, h_count, e_count = residual.shape
    flat = residual.flatten(1).argmin(dim=1)
    h, e = flat // e_count, flat % e_count
    rows = torch.arange(b)
    at = residual[rows, h, e]
    along_h = parabola_vertex(residual[rows, (h - 1) % h_count, e], at, residual[rows, (h + 1) % h_count, e])
    before = residual[rows, h, (e - 1).clamp(min=0)]
    after = residual[rows, h, (e + 1).clamp(max=e_count - 1)]
    inside = (e > 0) & (e < e_count - 1)
    along_e = torch.where(inside, parabola_vertex(before, at, after), torch.zeros_like(at))
    return h, e, along_h, along_e


def check_inputs(images: Tensor, scenes: SceneParameters, candidates: Candidates) -> None:
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[-1] != images.shape[-2]:
        raise RenderMatchError(f"render-and-match reads square RGB images (B, 3, H, H), got {tuple(images.shape)}")
    if images.shape[-1] < candidates.resolution:
        raise RenderMatchError(
            f"render-and-match needs images of at least {candidates.resolution} px, got {images.shape[-1]}"
        )
    if scenes.batch_size != images.shape[0]:
        raise RenderMatchError(f"render-and-match got {images.shape[0]} images but {scenes.batch_size} scenes")
    if scenes.num_objects != 1:
        raise RenderMatchError(f"render-and-match reads one object per image, the scenes have {scenes.num_objects}")
    # The object's size is the dataset's (the candidates'), whatever box a generator's scene gives it.
    for name, actual, wanted in (
        ("camera radius", scenes.camera_radius, candidates.spec.radius),
        ("field of view", scenes.camera_fov_deg, candidates.spec.fov_deg),
    ):
        if not bool(((actual.float().cpu() - wanted).abs() <= SCENE_TOLERANCE).all()):
            raise RenderMatchError(
                f"render-and-match candidates were rendered at {name} {wanted:g}, the scenes have {actual.tolist()}"
            )


def fine_residuals(
    images: Float[Tensor, "B 3 h h"],
    offsets: Float[Tensor, "B W 2"],
    registration: Registration,
    fixed: Float[Tensor, "H W 3 P P"],
    body: Float[Tensor, "H W P P"],
) -> tuple[Float[Tensor, "B H W"], Float[Tensor, "B H W 3"]]:
    """Residuals (and colours) of registered images against W elevation rows of candidates, each the
    lowest over small shifts about the registered place; ``offsets`` in pixels of the images."""
    b, w = offsets.shape[:2]
    size, res = images.shape[-1], fixed.shape[-1]
    shift = offsets + registration.shift_px[:, None] * size / res
    rows = placed(images, shift, registration.scale[:, None].expand(-1, w), res)  # one resampling of the full image
    nudges = torch.tensor(list(product(FINE_SHIFTS, FINE_SHIFTS)))  # (G, 2), pixels at the candidates' size
    g = len(nudges)
    nudged = placed(rows.reshape(b * w, 3, res, res), nudges.repeat(b * w, 1, 1), torch.ones(b * w, g), res)
    queries = nudged.reshape(b, w, g, 3, res, res).transpose(1, 2).reshape(b * g, w, 3, res, res)
    residual, colour = colour_fit_residuals(queries, fixed, body)
    residual, pick = residual.reshape(b, g, *residual.shape[1:]).min(dim=1)
    colour = colour.reshape(b, g, *colour.shape[1:]).gather(1, pick[:, None, ..., None].expand(-1, 1, -1, -1, 3))
    return residual, colour[:, 0]


def match(images: Float[Tensor, "B C H W"], scenes: SceneParameters, candidates: Candidates) -> MatchReading:
    """Read each image's heading and camera elevation by matching it against ``candidates``.

    ``images``: RGB (C = 3), square (H = W), in [-1, 1], at least the candidates' size (anything else stops
    with a RenderMatchError); ``scenes``: what each image was asked to show
    (its camera and the object's translation, slot 0, are used; heading and elevation are what is read).
    """
    check_inputs(images, scenes, candidates)
    images = (images.detach().float().cpu() + 1) / 2
    b, size, res = images.shape[0], images.shape[-1], candidates.resolution
    rows = torch.arange(b)
    translation = scenes.object_translation[:, 0].detach().float().cpu()
    azimuth, radius, fov = (
        x.detach().float().cpu() for x in (scenes.camera_azimuth_deg, scenes.camera_radius, scenes.camera_fov_deg)
    )
    elevations = candidates.elevations_deg
    num_e = len(elevations)
    offsets = centre_offsets(translation, azimuth, elevations, radius, fov, size)  # pixels of the image
    small = to_size(images, res)
    # 1. Coarse: every candidate at the middle blur level; the object placed for the middle elevation.
    middle = len(candidates.spec.blur_sigmas_px) // 2
    query = placed(small, offsets[:, num_e // 2 : num_e // 2 + 1] * res / size, torch.ones(b, 1), res)
    coarse, _ = colour_fit_residuals(query.expand(-1, num_e, -1, -1, -1), *candidates.at_level(middle))
    flat = coarse.flatten(1).argmin(dim=1)
    h0, e0 = flat // num_e, flat % num_e
    # 2. Registration against the coarse candidate.
    reg = register(
        small,
        offsets[rows, e0] * res / size,
        candidates.fixed[:, h0, e0].transpose(0, 1),
        candidates.body[:, h0, e0].transpose(0, 1),
    )
    # 3. Fine: the elevations near the coarse one, resampled once from the full-size image; images that
    # share a blur level and a window of elevations are matched together.
    window = min(2 * FINE_ELEVATIONS + 1, num_e)
    first = (e0 - FINE_ELEVATIONS).clamp(0, num_e - window)
    heading, elevation, residual, colour = torch.zeros(b), torch.zeros(b), torch.zeros(b), torch.zeros(b, 3)
    step_h = 360 / len(candidates.headings_deg)
    step_e = (elevations[-1] - elevations[0]) / max(num_e - 1, 1)
    for level, start in {(int(k), int(f)) for k, f in zip(reg.level, first, strict=True)}:
        group = ((reg.level == level) & (first == start)).nonzero()[:, 0]
        near = slice(start, start + window)
        fixed, body = candidates.at_level(level)
        group_reg = Registration(reg.shift_px[group], reg.scale[group], reg.level[group])
        fine, colours = fine_residuals(images[group], offsets[group, near], group_reg, fixed[:, near], body[:, near])
        # A vertex at the window's edge but inside the grid would need the row beyond: it stays on the grid.
        h, e, along_h, along_e = best_with_vertex(fine)
        heading[group] = candidates.headings_deg[h] + step_h * along_h
        elevation[group] = elevations[start + e] + step_e * along_e
        residual[group] = fine[torch.arange(len(group)), h, e].sqrt()
        colour[group] = colours[torch.arange(len(group)), h, e]
    # 4. The candidates show the object at the origin from (heading, elevation); the translated object is
    # seen from a slightly different direction, which the reading undoes.
    _, seen_elevation = apparent_view(translation, azimuth, elevation, radius)
    camera_elevation = elevation + (elevation - seen_elevation)
    seen_azimuth, _ = apparent_view(translation, azimuth, camera_elevation, radius)
    return MatchReading(
        heading_deg=wrap_degrees(heading + seen_azimuth - azimuth),
        elevation_deg=camera_elevation,
        residual=residual,
        colour=colour,
    )


def match_reader(
    candidates: Candidates, batch_size: int = 32
) -> Callable[[Float[Tensor, "B 3 h h"], SceneParameters], MatchReading]:
    """:func:`match` as a reader of images of known scenes, ``batch_size`` images at a time (memory)."""

    def read(images: Tensor, scenes: SceneParameters) -> MatchReading:
        parts = [
            match(images[i : i + batch_size], scenes.select(slice(i, i + batch_size)), candidates)
            for i in range(0, images.shape[0], batch_size)
        ]
        return MatchReading(*(torch.cat([getattr(p, f) for p in parts]) for f in MatchReading.__dataclass_fields__))

    return read
