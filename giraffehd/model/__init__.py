"""The generator and its parts: styles, the 3D feature-map renderer, and a 2D compositor (docs/architecture.md)."""
