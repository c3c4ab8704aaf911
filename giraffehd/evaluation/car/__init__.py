"""The car's controls and their readers: giraffehd-eval (docs/evaluation_controllability.md).

protocol.py (what is measured, with how many images), evaluator.py (the reader network) and
evaluator_training.py, render_candidates.py, placement.py and render_match.py (the second reader: matching
against the dataset's ray tracer), controls.py (knob sweeps read back, background stability, masks,
colours), scoring.py (``score()``: model, floor and chance per row), scorecard_rows.py (the typed rows),
scorecard.py (``Scorecard``, ``Provenance``: the JSON and Markdown files), silhouette.py and
silhouette_figure.py (masks against the matched true render), cli.py (giraffehd-eval).
"""
