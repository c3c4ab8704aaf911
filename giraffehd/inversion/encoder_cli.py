"""giraffehd-train-encoder: train a pose encoder on a model's own samples (conf/train_encoder.yaml).

    giraffehd-train-encoder                                   # models/demo_car_64.pt -> models/demo_car_64.encoder.pt
    giraffehd-train-encoder checkpoint=runs/demo output=runs/demo/encoder.pt
    giraffehd-train-encoder checkpoint=models/hd_car_256.pt start_from=models/demo_car_64.encoder.pt \
        training.steps=100 training.lr=0.0003             # fine-tune the encoder of the model it grew from

The file is written atomically with the errors read on fresh samples; giraffehd-invert finds it beside
the model file (or takes ``encoder=PATH``). A bad value stops with one line, exit status 2.
"""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from giraffehd.entry_point import hydra_command, print_written
from giraffehd.inversion.encoder import default_encoder_path, load_encoder, save_encoder
from giraffehd.inversion.encoder_training import EncoderTraining, train_pose_encoder
from giraffehd.model_io import load_model
from giraffehd.outputs import check_output_folder


def run(cfg: DictConfig) -> Path:
    settings = EncoderTraining(**OmegaConf.to_container(cfg.training))
    model = load_model(cfg.checkpoint)
    output = Path(cfg.output) if cfg.output is not None else default_encoder_path(model.path)
    if output.is_dir():
        raise ValueError(f"output {output} is a folder: name the encoder file, e.g. {output / 'model.encoder.pt'}")
    if output.exists() and not cfg.overwrite:
        raise ValueError(f"output {output} exists: pass overwrite=true to replace it")
    check_output_folder(output.parent, "output", need_bytes=16 * 2**20, create=True)
    start = None if cfg.start_from is None else load_encoder(cfg.start_from)[0]
    with tqdm(total=settings.steps, desc="training the pose encoder", unit="step") as bar:

        def progress(count: int, loss: float) -> None:
            bar.update(count)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

        encoder, report = train_pose_encoder(model.generator, model.prior, settings, progress, start)
    report["model"] = {"path": str(model.path), "step": model.step}
    report["started_from"] = None if cfg.start_from is None else str(cfg.start_from)
    errors = report["errors_on_fresh_samples"]
    print(
        f"on {settings.check_images} fresh samples: heading {errors['heading_mean_deg']:.2f} deg mean "
        f"({errors['heading_over_90_share']:.1%} off by over 90), elevation {errors['elevation_mean_deg']:.2f} deg mean"
    )
    return save_encoder(encoder, report, output)


main = hydra_command("giraffehd-train-encoder", "train_encoder", run, report=lambda path: print_written([path]))

if __name__ == "__main__":
    main()
