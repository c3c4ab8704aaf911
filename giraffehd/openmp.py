"""OpenMP's wait policy, chosen before torch starts its thread pool.

PyTorch's CPU kernels run on GNU OpenMP (libgomp), whose idle threads by default spin for about 300,000
iterations after each parallel region before they sleep. The generator runs many small operations, so
on a machine where another process competes for the cores, a thread that spins takes the core from a
thread the others wait for, and every operation waits for a scheduler tick: the whole run slows several
fold, not by the fair share. Sleeping at once (``OMP_WAIT_POLICY=PASSIVE``) keeps the fair share but
makes an idle machine pay a wake-up per operation; a short spin (``GOMP_SPINCOUNT``, below) keeps most
of both (docs/benchmarks.md compares the settings, idle and beside a busy process).

libgomp reads its settings once, when torch loads it, so :func:`prefer_short_spin` must run before the
first ``import torch``; the package's ``__init__`` calls it, so the entry points and the scripts that
import giraffehd first get it. A setting the user made (``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``) is
kept, and ``GIRAFFEHD_OMP_DEFAULT=1`` keeps OpenMP's own default. Other OpenMP runtimes (LLVM's libomp
on macOS) ignore the variable.
"""

import os
import sys
from collections.abc import MutableMapping

SPIN_COUNT = "3000"  # iterations a waiting thread spins before it sleeps (libgomp's default: 300,000)


def prefer_short_spin(environ: MutableMapping[str, str] = os.environ, modules=sys.modules) -> bool:
    """Set ``GOMP_SPINCOUNT`` in ``environ`` unless the user chose a wait policy or torch is already loaded
    (then it would have no effect). Returns whether it set it."""
    if environ.get("GIRAFFEHD_OMP_DEFAULT") == "1":
        return False
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    if "torch" in modules:
        return False
    environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    return True
