"""Keep freed memory inside the process (glibc only), for speed on CPU.

PyTorch allocates and frees large temporaries on every operation. glibc's default allocator serves
large blocks with fresh mmaps and returns freed memory to the kernel at once, so the kernel spends its
time zeroing and mapping pages instead of computing, which slows small CPU machines down markedly
(docs/benchmarks.md compares both settings). :func:`keep_freed_memory` tells glibc, at run time, to serve
every block from its heap and to keep freed memory for reuse: the process's resident memory can be
somewhat higher, and it is not handed back until the process ends. The entry points call it first; set
GIRAFFEHD_DEFAULT_MALLOC=1 to keep glibc's defaults. It does nothing where glibc's ``mallopt`` is not
available (macOS, Windows, musl).
"""

import ctypes
import ctypes.util
import os

# mallopt parameters from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Tune glibc's allocator as described above; returns whether it was tuned."""
    if os.environ.get("GIRAFFEHD_DEFAULT_MALLOC") == "1":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 1 << 28))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)
