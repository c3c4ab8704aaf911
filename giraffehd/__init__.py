"""giraffehd: a 3D-aware, high-resolution generative image model in the style of GIRAFFE HD."""

from giraffehd.openmp import prefer_short_spin

# Before any submodule imports torch: libgomp reads its wait policy once, when torch loads it.
prefer_short_spin()
