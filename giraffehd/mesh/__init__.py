"""Meshes from a generator's object fields: density on a grid, marching cubes, colours from renders."""
