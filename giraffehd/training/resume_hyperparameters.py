"""On resume, the configured optimizer hyperparameters win over the ones stored in the checkpoint.

Lightning restores each optimizer's state as saved, learning rates and betas included, so a learning rate
changed for the resumed run would be silently overwritten while config.yaml records the new value. After
the restore, each parameter group's ``lr`` and ``betas`` are set to what the configuration gives (the
optimizer as the config builds it), and every change is reported in one line.
"""

import sys

import lightning

KEYS = ("lr", "betas")
NAMES = ("optimizer.generator", "optimizer.discriminator")


def apply_configured(restored, configured) -> list[str]:
    """Set ``restored``'s per-group ``lr`` and ``betas`` to ``configured``'s; returns what changed, in words."""
    changes = []
    for index, (mine, wanted) in enumerate(zip(restored.param_groups, configured.param_groups, strict=True)):
        for key in KEYS:
            if key in wanted and key in mine and _value(mine[key]) != _value(wanted[key]):
                group = "" if len(restored.param_groups) == 1 else f" (parameter group {index})"
                changes.append(f"{key}{group} {_value(mine[key])} -> {_value(wanted[key])}")
                mine[key] = wanted[key]
    return changes


def _value(value):
    return tuple(float(v) for v in value) if isinstance(value, list | tuple) else float(value)


class ApplyConfiguredHyperparameters(lightning.Callback):
    """After a resume restores the optimizers: apply the config's lr and betas, and say so."""

    def __init__(self, resumed: bool) -> None:
        self.resumed = resumed
        self.changes: list[str] = []

    def on_train_start(self, trainer, pl_module) -> None:
        if not self.resumed:
            return
        configured = pl_module.configure_optimizers()  # fresh optimizers as the config builds them
        for name, restored, wanted in zip(NAMES, trainer.optimizers, configured, strict=True):
            restored = getattr(restored, "optimizer", restored)
            for change in apply_configured(restored, wanted):
                self.changes.append(f"{name} {change}")
        if self.changes:
            print(
                "giraffehd-train: resume: the config's optimizer settings replace the checkpoint's: "
                + "; ".join(self.changes),
                file=sys.stderr,
                flush=True,
            )
