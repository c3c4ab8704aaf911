import torch

from giraffehd.machine_peaks import conv_peak, matmul_peak


def test_peaks_report_a_positive_rate_and_the_size_that_reached_it():
    cpu = torch.device("cpu")
    mm = matmul_peak(cpu, repeats=1, sizes=(32, 64))
    conv = conv_peak(cpu, repeats=1, shapes=((2, 8, 16),))
    assert mm.gflops_per_s > 0 and mm.shape in ("mm 32x32", "mm 64x64")
    assert conv.gflops_per_s > 0 and conv.shape == "conv3x3 2x8x16x16"
