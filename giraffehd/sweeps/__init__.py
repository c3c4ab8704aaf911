"""Controllable rendering of a trained model: sweeps of every knob, turntable videos, depth and masks.

- :mod:`giraffehd.sweeps.api`: load a model, sample rows of scenes, render them, write grids and videos;
- :mod:`giraffehd.sweeps.plan`: the sweeps (which knob of :mod:`giraffehd.knobs`, over which values);
- :mod:`giraffehd.sweeps.job`: render planned sweeps and write their files (scene JSON:
  :mod:`giraffehd.scene_json`);
- :mod:`giraffehd.sweeps.cli`: the ``giraffehd-render`` entry point (conf/render.yaml, docs/render.md).

The pure rendering math (rays, volume rendering, compositing) is elsewhere: :mod:`giraffehd.rendering`.
"""
