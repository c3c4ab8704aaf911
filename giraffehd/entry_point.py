"""What every Hydra command shares, written once: the ``main`` of a console script.

    main = hydra_command("giraffehd-render", "render", run_render, report=print_written)

``main()`` keeps freed memory in the process (giraffehd/allocator.py), composes ``conf/<config_name>.yaml``
with the command line (an override that does not apply, such as an unknown key, is one line too),
checks that each override keeps its key's kind of value (giraffehd/config_types.py), applies the
config's ``threads`` key when it has one, and runs the job. A bad input (one of ``errors``) or an
operating-system error (``OSError``: a full disk, a folder that turned read-only) prints ``<command>:
error: <one line>`` and exits with status 2, leaving 1 for a real crash; an exception with an
``exit_status`` (a run stopped by a signal after saving) prints its message and exits with that status.
``report`` receives what the job returned.
"""

import sys
from collections.abc import Callable
from typing import Any

import hydra
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from giraffehd.allocator import keep_freed_memory
from giraffehd.config_types import CONF_DIR, check_override_kinds, hydra_overrides, set_threads

BAD_INPUT = (ValueError, OmegaConfBaseException)  # the project's input errors (CheckpointError, ...) are ValueErrors


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def os_error_line(error: OSError) -> str:
    """An operating-system error (a full disk, a folder made read-only during the work) in one line
    naming the file, without the traceback that would bury it."""
    names = [str(name) for name in (error.filename, error.filename2) if name is not None]
    reason = error.strerror or one_line(error)
    return f"{reason}: {' -> '.join(names)}" if names else reason


def check_composes(command: str, config_name: str, argv: list[str]) -> None:
    """An override Hydra cannot apply (an unknown key, a typo in a group's choice, unbalanced brackets) stops
    here with one line and status 2, like every other bad input, instead of Hydra's own several lines and
    status 1. Hydra's flags (``--help``, ``--cfg job``, ``-m``) are left to Hydra."""
    if any(argument.startswith("-") for argument in argv):
        return
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            compose(config_name, list(argv))
    except (HydraException, OmegaConfBaseException) as error:
        # Hydra's first two lines say what and how ("Could not override 'foo'. To append to your config use
        # +foo=1"); the rest is OmegaConf's internals.
        print(f"{command}: error: {' '.join(str(error).splitlines()[:2])}", file=sys.stderr)
        sys.exit(2)


def print_written(paths) -> None:
    for path in paths:
        print(f"wrote {path}")


def hydra_command(
    command: str,
    config_name: str,
    job: Callable[[DictConfig], Any],
    errors: tuple[type[BaseException], ...] = BAD_INPUT,
    report: Callable[[Any], None] | None = None,
) -> Callable[[], None]:
    """The ``main`` of the console script ``command``, running ``job`` on ``conf/<config_name>.yaml``."""

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def hydra_main(cfg: DictConfig) -> None:
        try:
            check_override_kinds(cfg, hydra_overrides(), config_name)
            if "threads" in cfg:
                set_threads(cfg.threads)
            result = job(cfg)
        except errors as error:
            status = getattr(error, "exit_status", None)
            if status is not None:
                print(f"{command}: {error}", file=sys.stderr)
                sys.exit(status)
            print(f"{command}: error: {one_line(error)}", file=sys.stderr)
            sys.exit(2)
        except OSError as error:  # the machine's, not the input's; atomic writes left nothing half-written
            print(f"{command}: error: {os_error_line(error)}", file=sys.stderr)
            sys.exit(2)
        if report is not None:
            report(result)

    def main() -> None:
        keep_freed_memory()
        check_composes(command, config_name, sys.argv[1:])
        hydra_main()

    main.__doc__ = f"The console script {command} (conf/{config_name}.yaml)."
    return main
