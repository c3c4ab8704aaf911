"""giraffehd-invert: invert images into the model's knobs, then edit them (conf/invert.yaml, docs/invert.md).

    giraffehd-invert image=photo.png
    giraffehd-invert checkpoint=models/demo_car_64.pt image=data/my_cars/ limit=10

For each image, into ``output_dir/<image name>/``: ``reconstruction.png`` (the input beside the
reconstruction), ``scene.json`` (the recovered knobs, which ``giraffehd-render scene=`` and the viewer
read), and the edits (``rotation.png``, ``elevation.png``, ``turntable.mp4`` by default: giraffehd-render's
sweeps started from the recovered scene). Images are converted to RGB and resized (Lanczos, centre square)
to the model's resolution, with a note. Everything is checked first; a bad input stops with one line,
``giraffehd-invert: error: ...``, exit status 2.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from giraffehd.atomic import write_atomically
from giraffehd.data.image_files import ImageCollection, check_images, find_images, resize_and_crop
from giraffehd.entry_point import hydra_command, print_written
from giraffehd.inversion.encoder import PoseEncoder, default_encoder_path, load_encoder
from giraffehd.inversion.optimise import InversionSettings, inversion_steps, invert
from giraffehd.media import make_grid, save_image
from giraffehd.model_io import load_model
from giraffehd.outputs import check_output_folder
from giraffehd.scene_json import scene_to_json
from giraffehd.sweeps.job import RenderOptions, run_sweeps
from giraffehd.sweeps.plan import plan_sweeps

# Below this, inversions of held-out synthetic cars searched without an encoder were the ones whose pose came
# out wrong (docs/invert.md); with a sure encoder reading the pose is kept and only the poor fit is reported.
LOW_PSNR_DB = 22.0


def images_of(path: str) -> ImageCollection:
    """One image file, or every image of a folder or zip archive."""
    source = Path(path)
    if source.exists() and not (source.is_file() or source.is_dir()):  # reading a pipe would wait forever
        raise ValueError(f"image {source} is not a regular file or folder (a named pipe or device)")
    if source.is_file() and source.suffix.lower() != ".zip":
        return ImageCollection(source.parent, [source.name])
    return find_images(source)


def readable(images: ImageCollection, skip_broken: bool) -> ImageCollection:
    """Every image decoded before the first inversion: a broken one stops the run at once, naming it, or
    with ``skip_broken`` is left out with one note, instead of stopping a long run part-way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = check_images(images, skip_corrupt=skip_broken, use_cache=False, skip_key="skip_broken")
    for warning in caught:
        print(f"giraffehd-invert: note: {warning.message}", file=sys.stderr)
    return kept


def encoder_for(setting: str | None, model_file: Path, generator) -> PoseEncoder | None:
    """The pose encoder ``encoder=`` names: auto (beside the model file, if there), a path, or null."""
    if setting is None:
        return None
    if setting == "auto":
        path = default_encoder_path(model_file)
        if not path.is_file():
            print(f"giraffehd-invert: note: no pose encoder at {path}: searching every heading without one "
                  f"(giraffehd-train-encoder checkpoint={model_file} makes one; front and back are confused "
                  f"more often without it)", file=sys.stderr)  # fmt: skip
            return None
        return load_encoder(path, generator)[0]
    return load_encoder(setting, generator)[0]


def run(cfg: DictConfig) -> list[Path]:
    if OmegaConf.is_missing(cfg, "image"):
        raise ValueError("image is required: image=PATH (an image, a folder of images or a .zip archive)")
    if cfg.limit is not None and (not isinstance(cfg.limit, int) or cfg.limit < 1):
        raise ValueError(f"limit must be null or a positive integer, got {cfg.limit!r}")
    settings = InversionSettings(**OmegaConf.to_container(cfg.inversion))
    if not isinstance(cfg.skip_broken, bool):
        raise ValueError(f"skip_broken must be true or false, got {cfg.skip_broken!r}")
    images = images_of(cfg.image)
    if cfg.limit is not None:
        images = images.select(images.names[: cfg.limit])
    images = readable(images, cfg.skip_broken)
    output = check_output_folder(cfg.output_dir, "output_dir", need_bytes=2**20)
    model = load_model(cfg.checkpoint)
    if model.prior.num_objects != 1:
        raise ValueError(f"{model.path} draws {model.prior.num_objects} objects; inversion supports one-object models")
    encoder = encoder_for(cfg.encoder, model.path, model.generator)
    size = model.generator.image_resolution
    plans, notes = plan_sweeps(list(cfg.edits), {}, model.prior, cfg.steps, cfg.frames) if cfg.edits else ([], [])
    for note in notes:
        print(f"giraffehd-invert: note: {note}", file=sys.stderr)
    written = []
    steps = inversion_steps(model.generator, settings)
    for index, name in enumerate(images.names):
        pixels = images.read(index)  # a one-line DataError names an unreadable file
        if pixels.shape[:2] != (size, size):
            print(f"giraffehd-invert: note: {name} is {pixels.shape[1]}x{pixels.shape[0]}: "
                  f"resized to {size}x{size} (centre square)", file=sys.stderr)  # fmt: skip
            pixels = resize_and_crop(pixels, size)
        target = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
        start = time.perf_counter()
        with tqdm(total=steps, desc=f"inverting {name}", unit="step", leave=False) as bar:
            guess = encoder.read(target[None]) if encoder is not None else None
            result = invert(model.generator, model.prior, target, settings, bar.update, guess)
        seconds = time.perf_counter() - start
        folder = output / Path(name).with_suffix("").as_posix().replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        written.append(save_image(make_grid(torch.stack([target, result.image])[None]), folder / "reconstruction.png"))
        record = {
            "scene": scene_to_json(result.scene)[0],
            "truncation_psi": 1.0,
            "batch_size": 1,
            "source_image": str(images.root / name),
            "psnr_db": result.psnr_db,
            "seconds": seconds,
        }
        if guess is not None:  # what the encoder read, before the search
            record["encoder_reading"] = {
                "heading_deg": float(guess.heading_deg[0]),
                "confidence": float(guess.confidence[0]),
                "elevation_deg": float(guess.elevation_deg[0]),
            }
        text = json.dumps(record, indent=1).encode()
        written.append(write_atomically(folder / "scene.json", lambda f, text=text: f.write(text)))
        if plans:
            options = RenderOptions(seeds=[settings.seed], video_formats=("mp4",), scene_json=False, batch_size=1)
            written += run_sweeps(model, plans, options, folder, base=result.scene)
        print(f"{name}: PSNR {result.psnr_db:.2f} dB in {seconds:.1f} s -> {folder}")
        if result.psnr_db < LOW_PSNR_DB:
            sure = guess is not None and float(guess.confidence[0]) >= settings.encoder_trust
            risk = "" if sure else "; its recovered pose may be wrong (front and back confused)"
            print(f"giraffehd-invert: note: {name}: the model could not reproduce this image closely "
                  f"({result.psnr_db:.1f} dB){risk}", file=sys.stderr)  # fmt: skip
    return written


main = hydra_command("giraffehd-invert", "invert", run, report=print_written)

if __name__ == "__main__":
    main()
