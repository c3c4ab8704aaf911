"""Evaluation: controllability against a synthetic dataset's ground truth, and FID/KID (fid.py).

labels.py (the dataset's ground truth), evaluator.py (the reader network), evaluator_training.py,
sources.py (generator / renderer as image sources), alignment.py (errors after best offset and sign),
controls.py (the metrics), scorecard.py (floor and chance beside each figure), cli.py (giraffehd-eval).
"""
