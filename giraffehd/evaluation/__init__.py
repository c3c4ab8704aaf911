"""Evaluation: controllability against a synthetic dataset's ground truth, and FID/KID (docs/evaluation_*.md).

Controllability: protocol.py (what is measured, with how many images), labels.py (the dataset's ground
truth), evaluator.py (the reader network) and evaluator_training.py, sources.py (the generator or the
dataset's renderer as image sources), degradations.py (blur, shift, resize: the degraded floor),
render_candidates.py, placement.py and render_match.py (the second reader: matching against the
dataset's ray tracer), controls.py (knob sweeps read back, background stability, masks, colours),
alignment.py (errors after the best sign and offset), scoring.py (``score()``: model, floor and chance per
row), scorecard_rows.py (the typed rows), scorecard.py (``Scorecard``, ``Provenance``: the JSON and
Markdown files), cli.py (giraffehd-eval).

FID/KID: inception.py (the offline Inception weights, our feature extractor, clean-fid's resize),
fid_features.py (reference files, generated images, batches, the reference cache), fid_score.py (FID and
KID from features; KID's subsets from an explicit ``np.random.RandomState``), fid_floor.py (the reference set and
its real-against-real floor), fid_resize.py (scoring images at another resolution), fid_protocol.py (the fidelity
protocol and how a figure departs from it), fid.py (``compute_quality``).
"""
