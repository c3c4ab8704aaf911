"""Multi-object scene controls: giraffehd-eval-scenes.

evaluator.py (the scene evaluator: finds and reads every object of an image), truth.py (scenes with
per-object ground truth), evaluator_training.py and evaluator_scores.py (its training and held-out
scores), geometry.py (where objects land, and which found object is which), controls.py (count,
translation and colour control), isolation.py (an edit of one object leaves the rest alone), cli.py
(giraffehd-eval-scenes).
"""
