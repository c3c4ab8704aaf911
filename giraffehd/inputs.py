"""Input files checked before they are opened (the counterpart of giraffehd/outputs.py).

Opening a named pipe for reading waits for a writer forever, so a command handed one would hang with no
output; a folder or a device where a file belongs gives a confusing error deep in a library. Every
reader of a single file the user names (a model, a checkpoint, an encoder, a scene file) calls
:func:`check_input_file` first, which answers in one line naming the file and what it is.
"""

import stat
from pathlib import Path


def check_input_file(path: str | Path, noun: str, error: type[Exception], hint: str = "name a file") -> Path:
    """``path`` if it is a regular file; else ``error`` in one line: missing, unreadable, a folder, or a
    pipe or device (never opened). ``noun`` names the kind of file ("checkpoint", "scene file")."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise error(f"{noun} not found: {path}") from None
    except OSError as reason:
        raise error(f"cannot read {noun} {path}: {reason.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a named pipe or device)"
        raise error(f"{noun} {path} is {kind}: {hint}")
    return path
