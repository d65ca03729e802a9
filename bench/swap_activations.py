"""Network or tracker? beatd's tracker on beatd's activations and on madmom online's, dev set.

Usage::

    .venv/bin/python bench/swap_activations.py [--data DIR] [--out FILE]

The dev-set gap to madmom online could sit in the network (weak activations) or in the tracker
(what it does with them). This runs beatd's tracker, with its defaults and the analyze path's
silence gate, on two beat activations of every dev file and scores both with
:func:`realtime.evaluate.evaluate_files`:

* the shipped network's;
* madmom 0.16.1's causal RNN (``RNNBeatProcessor(online=True)``, frames ending at the hop: the
  network of madmom online in ``bench/compare_peers.py``), computed in the peers' madmom
  interpreter and cached under ``.cache/peer_activations/madmom-online/<folder>/<track>.npy``.
  It is aligned to beatd's frames by one lag for the whole set (the median over files of the
  lag, within ±10 frames, that best correlates the two activations).

The downbeat input is beatd's own in both, so only the beat activation differs. The first row
beside madmom online's own row in ``compare_peers.py`` separates the two: same activations,
other tracker. Diagnosis only: nothing is chosen on the dev set.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, machine  # noqa: E402
from compare_peers import DATA, ROOT, dev_files, peer_python  # noqa: E402

from realtime.analyze import analyze_file, load_network  # noqa: E402
from realtime.evaluate import (Prediction, beatd_predictor, compare_markdown,  # noqa: E402
                               evaluate_files)

CACHE = ROOT / ".cache" / "peer_activations" / "madmom-online"
MAX_LAG = 10

_MADMOM = """
import sys, os, numpy as np
from madmom.features.beats import RNNBeatProcessor
rnn = RNNBeatProcessor(online=True, origin="online")
cache = sys.argv[1]
for path in sys.argv[2:]:
    out = os.path.join(cache, os.path.basename(os.path.dirname(path)),
                       os.path.basename(path).rsplit(".", 1)[0] + ".npy")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.save(out + ".tmp.npy", np.asarray(rnn(path), np.float32))
    os.replace(out + ".tmp.npy", out)
    print(out, flush=True)
"""


def cached_path(audio: Path) -> Path:
    """Where madmom's beat activation of ``audio`` is cached (float32, 100 frames/s)."""
    return CACHE / audio.parent.name / (audio.stem + ".npy")


def madmom_activations(files: list[Path]) -> None:
    """Compute the missing madmom activations in one process of the peers' madmom interpreter."""
    todo = [f for f in files if not cached_path(f).is_file()]
    if not todo:
        return
    py, env = peer_python("madmom-online")
    if not py.is_file():
        sys.exit(f"madmom's interpreter {py} is missing: run ../shared/peers/INSTALL.sh first")
    subprocess.run([str(py), "-c", _MADMOM, str(CACHE), *map(str, todo)], env=env, check=True)


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = MAX_LAG) -> int:
    """The lag k (|k| <= max_lag) for which ``b[t + k]`` correlates best with ``a[t]``."""
    n = min(len(a), len(b)) - 2 * max_lag
    a0 = a[max_lag:max_lag + n] - a.mean()
    xs = [float(np.dot(a0, b[max_lag + k:max_lag + k + n] - b.mean()))
          for k in range(-max_lag, max_lag + 1)]
    return int(np.argmax(xs)) - max_lag


class _SwappedNetwork:
    """Looks like a :class:`realtime.network.BeatNetwork` to ``analyze_file``: beatd's own
    activations with the beat column replaced by madmom's (shifted by ``lag`` frames)."""

    def __init__(self, own: dict[Path, np.ndarray], lag: int, params) -> None:
        self.own, self.lag, self.params, self.audio = own, lag, params, None

    def reset(self) -> None:
        pass

    def process_sequence(self, frames: np.ndarray) -> np.ndarray:
        act = self.own[self.audio].copy()
        m = np.load(cached_path(self.audio)).astype(np.float64)
        idx = np.arange(len(act)) + self.lag
        ok = (idx >= 0) & (idx < len(m))
        act[:, 0] = 0.0
        act[ok, 0] = m[idx[ok]]
        return act


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = ap.parse_args()
    files = dev_files(args.data)
    madmom_activations(files)
    net = load_network(None)
    own, lags = {}, []
    for f in files:
        act = analyze_file(f, network=net, tempo_hop_s=0.0, keep_activations=True).activations
        own[f] = act
        lags.append(best_lag(act[:, 0], np.load(cached_path(f)).astype(np.float64)))
    lag = int(np.median(lags))
    swapped = _SwappedNetwork(own, lag, net.params)

    swapped_predict = beatd_predictor(network=swapped)

    def predict_swapped(audio: Path) -> Prediction:
        swapped.audio = audio  # the swapped network serves the file being analysed
        return swapped_predict(audio)

    pairs = [(f, f.with_suffix(".beats")) for f in files]
    evs = [evaluate_files(pairs, beatd_predictor(network=net), "beatd network + beatd tracker"),
           evaluate_files(pairs, predict_swapped, "madmom online RNN + beatd tracker")]
    report = (f"# {machine()}; {len(files)} files of {args.data}\n\n"
              f"madmom frame t + {lag} aligned with beatd frame t (median over files; "
              f"per-file lags {sorted(set(lags))})\n\n" + compare_markdown(evs))
    emit(report, args.out)


if __name__ == "__main__":
    main()
