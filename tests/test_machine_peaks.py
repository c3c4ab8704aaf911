import pytest
import torch

from giraffehd.machine_peaks import conv_peak, matmul_peak


class Clock:
    """Every reading a quarter of a millisecond after the last: each timed run takes exactly that long."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25e-3
        return self.now


def test_a_peak_is_the_flops_of_the_best_size_over_its_time():
    cpu = torch.device("cpu")
    mm = matmul_peak(cpu, repeats=3, sizes=(64, 32), clock=Clock())
    assert mm.shape == "mm 64x64"  # the same time for more work: the larger size wins
    assert mm.gflops_per_s == pytest.approx(2 * 64**3 / 0.25e-3 / 1e9)
    conv = conv_peak(cpu, repeats=1, shapes=((2, 8, 16), (1, 4, 8)), clock=Clock())
    assert conv.shape == "conv3x3 2x8x16x16"
    assert conv.gflops_per_s == pytest.approx(2 * 2 * 8 * 16 * 16 * 8 * 9 / 0.25e-3 / 1e9)


def test_on_the_real_clock_the_peaks_are_measured_rates():
    cpu = torch.device("cpu")
    mm = matmul_peak(cpu, repeats=1, sizes=(32,))
    assert mm.shape == "mm 32x32" and 0 < mm.gflops_per_s < 1e6  # below a petaflop: the clock was read
