"""Image quality: FID and KID (docs/evaluation_fid.md).

inception.py (the offline Inception weights, the feature extractor, clean-fid's resize), fid_features.py
(reference files, generated images, batches, the reference cache), fid_score.py (FID and KID from features;
KID's subsets from an explicit ``np.random.RandomState``), fid_floor.py (the reference set and its
real-against-real floor), fid_resize.py (scoring images at another resolution), fid_upscaled_real.py (the
upscaled real set), fid_protocol.py (the fidelity protocol and how a figure departs from it), fid.py
(``compute_quality``).
"""
