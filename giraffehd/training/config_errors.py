"""Constructor errors as one line that names the config key, for the training entry point.

Constructors check their own arguments and name the argument (``mask_steepness must be at least 1``);
the entry point knows which config key each argument came from. Joined, the user reads
``model.compositor.mask_steepness must be at least 1``. For Hydra-built objects the key is the node
Hydra was building; an argument given by interpolation also names the key it interpolates
(``... got 48 (out_resolution is ${model.image_resolution})``), since that is the key to change.
"""

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

_FULL_KEY = re.compile(r"\s*full_key: (\S+)\s*$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def one_line(message: str) -> str:
    return " ".join(message.split())


def name_key(message: str, key: str, node: Any = None) -> str:
    """``message`` from a constructor built from config ``key`` (its node ``node``), naming the key.

    The message's first word is joined to ``key`` when it is one of the node's keys, else the message
    follows ``key:``; the node's keys the message mentions whose values are interpolations say so.
    """
    message = one_line(message)
    first, _, rest = message.partition(" ")
    if first.startswith(f"{key}."):  # the constructor named the key itself
        return message
    keys = set(node.keys()) if isinstance(node, DictConfig) else set()
    named = f"{key}.{first} {rest}".rstrip() if first.split(".")[0] in keys else f"{key}: {message}"
    mentioned = [word for word in dict.fromkeys(_WORD.findall(message)) if word in keys]
    interpolated = [word for word in mentioned if OmegaConf.is_interpolation(node, word)]
    if not interpolated:
        return named
    raw = OmegaConf.to_container(node, resolve=False)
    return f"{named} ({', '.join(f'{word} is {raw[word]}' for word in interpolated)})"


def instantiate_checked(cfg: DictConfig, key: str) -> Any:
    """``hydra.utils.instantiate`` of ``cfg``'s node at ``key``; a failing constructor becomes a one-line
    ValueError naming the config key of the node (and argument) that failed."""
    try:
        return instantiate(OmegaConf.select(cfg, key))
    except InstantiationException as error:
        match = _FULL_KEY.search(str(error))
        failed = match.group(1) if match else key
        cause = error.__cause__
        if isinstance(cause, (ValueError, TypeError)):
            message = str(cause)
        else:  # Hydra's own message: a target it cannot import, a bad _partial_ ...
            message = _FULL_KEY.sub("", str(error))
        raise ValueError(name_key(message, failed, OmegaConf.select(cfg, failed))) from None


@contextmanager
def config_keys(keys: Mapping[str, str]) -> Iterator[None]:
    """Inside, a ValueError whose message starts with an argument in ``keys`` (argument -> config key)
    is raised again naming the config key instead, on one line."""
    try:
        yield
    except ValueError as error:
        message = one_line(str(error))
        first, _, rest = message.partition(" ")
        argument = first.split(".")[0]
        if argument not in keys:
            raise
        raise ValueError(f"{keys[argument]}{first[len(argument) :]} {rest}".rstrip()) from None
