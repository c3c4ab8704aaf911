"""Controllable rendering of a trained model: sweeps of every knob, turntable videos, depth and masks.

- :mod:`giraffehd.render.api`: load a model, sample rows of scenes, render them, write grids and videos;
- :mod:`giraffehd.render.sweeps`: the sweeps (which knob, over which values);
- :mod:`giraffehd.render.job`: render planned sweeps and write their files;
- :mod:`giraffehd.render.scene_json`: scene parameters to JSON and back, bit for bit;
- :mod:`giraffehd.render.cli`: the ``giraffehd-render`` entry point (conf/render.yaml, docs/render.md).
"""
