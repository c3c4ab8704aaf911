"""Evaluation in three rooms, over a shared floor (docs/evaluation_controllability.md, docs/evaluation_fid.md).

- ``quality/``: image quality, FID and KID under the project's fidelity protocol (clean-fid's clean mode,
  Inception weights read offline), with the real-against-real floor.
- ``car/``: ``giraffehd-eval``, the controllability scorecard of one-object models against a synthetic set's
  ground truth: the evaluator network and render-and-match read each knob back, beside the floor (the
  dataset's own renders) and chance.
- ``scenes/``: ``giraffehd-eval-scenes``, the per-object scorecard of multi-object models, read by the
  scene evaluator.

Shared by the rooms: ``labels.py`` (a synthetic dataset's ground truth), ``sources.py`` (the generator or the
dataset's renderer as image sources), ``degradations.py`` (blur, shift, resize: the degraded floor) and
``alignment.py`` (errors after the best sign and offset). docs/architecture.md lists every module.
"""
