"""Constructor errors become one line naming the config key they came from."""

import pytest
from omegaconf import OmegaConf

from giraffehd.training.config_errors import config_keys, instantiate_checked, name_key


class Box:
    def __init__(self, size: int, pad: float = 0.0) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        if pad > size:
            raise ValueError(f"pad ({pad}) must not exceed size ({size})")
        self.size, self.pad = size, pad


TARGET = f"{__name__}.Box"


def _config(**box):
    return OmegaConf.create({"resolution": 4, "group": {"box": {"_target_": TARGET, **box}}})


def test_an_argument_named_first_is_joined_to_the_key():
    cfg = _config(size=0)
    with pytest.raises(ValueError, match=r"^group\.box\.size must be at least 1, got 0$"):
        instantiate_checked(cfg, "group")


def test_an_interpolated_argument_names_the_key_it_interpolates():
    cfg = _config(size=2, pad="${resolution}")
    with pytest.raises(
        ValueError, match=r"^group\.box\.pad \(4\) must not exceed size \(2\) \(pad is \$\{resolution\}\)$"
    ):
        instantiate_checked(cfg, "group.box")


def test_other_errors_follow_the_key():
    cfg = _config(size=2, colour="red")
    with pytest.raises(ValueError, match=r"^group\.box: .*unexpected keyword argument 'colour'$"):
        instantiate_checked(cfg, "group.box")
    missing = OmegaConf.create({"box": {"_target_": f"{__name__}.Nothing"}})
    with pytest.raises(ValueError, match=r"^box: Error locating target") as error:
        instantiate_checked(missing, "box")
    assert "\n" not in str(error.value)


def test_a_good_config_builds():
    assert instantiate_checked(_config(size=3, pad=1.0), "group.box").size == 3


def test_name_key_on_plain_messages():
    assert name_key("size must be\n  positive", "a.b", OmegaConf.create({"size": 1})) == "a.b.size must be positive"
    assert name_key("Invalid learning rate: -1", "optimizer.generator", None) == (
        "optimizer.generator: Invalid learning rate: -1"
    )


def test_config_keys_renames_arguments_and_lets_others_through():
    with pytest.raises(ValueError, match=r"^checkpoint\.keep_every_n_steps must be at least 1, got 0$"):
        with config_keys({"every_n_steps": "checkpoint.keep_every_n_steps"}):
            raise ValueError("every_n_steps must be at least 1, got 0")
    with pytest.raises(ValueError, match=r"^something else$"):
        with config_keys({"every_n_steps": "checkpoint.keep_every_n_steps"}):
            raise ValueError("something else")
