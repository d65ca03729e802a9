"""Paired bootstrap comparison of per-track validation scores (export.compare_tracks)."""
import json
import math

import numpy as np

from export.compare_tracks import load_per_track, compare, paired_bootstrap


def test_paired_bootstrap_of_a_constant_difference_is_exact():
    a = np.linspace(0.2, 0.9, 50)
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)
    mean, lo, hi = paired_bootstrap(a, a + 0.1)
    assert np.allclose([mean, lo, hi], 0.1)


def test_paired_bootstrap_interval_covers_the_shift_and_pairs_the_tracks():
    r = np.random.default_rng(1)
    a = r.uniform(0.0, 1.0, 200)                       # tracks differ a lot from each other ...
    b = a + 0.02 + r.normal(0.0, 0.01, 200)            # ... the model change is small and steady
    mean, lo, hi = paired_bootstrap(a, b)
    assert lo < 0.02 < hi and lo > 0.0                 # paired: the track spread cancels
    unpaired = paired_bootstrap(a, r.permutation(b))   # pairing destroyed: interval spans 0
    assert unpaired[1] < 0.0 < unpaired[2]


def test_compare_skips_never_locked_tracks_and_unshared_names(tmp_path):
    a = {"charts": {"x": [0.8, 0.7, 1.0], "y": [0.5, 0.4, None], "z": [0.1, 0.1, 2.0]}}
    b = {"charts": {"x": [0.9, 0.8, 0.5], "y": [0.6, 0.5, 3.0]}, "asap": {"q": [0, 0, None]}}
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    rows = {(g, m): (n, mean) for g, m, n, mean, *_ in compare(load_per_track(pa), load_per_track(pb), 200)}
    assert set(rows) == {("charts", "f"), ("charts", "amlt"), ("charts", "lock")}
    assert rows["charts", "f"][0] == 2 and math.isclose(rows["charts", "f"][1], 0.1)
    assert rows["charts", "lock"] == (1, -0.5)        # y never locked in a: left out
