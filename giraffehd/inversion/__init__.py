"""From an image to the scene parameters whose render matches it (GAN inversion by optimisation)."""
