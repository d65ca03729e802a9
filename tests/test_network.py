"""Beat network: torch/onnxruntime parity, streaming/sequence parity, tiny train -> export -> load,
metadata checks. Uses torch (``train`` extra); the daemon side (realtime/) must not."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from export import dataset as D  # noqa: E402
from export.metrics import causal_peaks  # noqa: E402
from export.model import BeatGRU  # noqa: E402
from export.onnx_export import export_model  # noqa: E402
from realtime.frontend import FrontendParams  # noqa: E402
from realtime.network import BeatNetwork, default_model_path  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    torch.manual_seed(0)
    m = BeatGRU(hidden=32, layers=2, proj=24)
    with torch.no_grad():
        m.mean.uniform_(0.0, 3.0)
        m.std.uniform_(0.3, 2.0)
        for p in m.parameters():
            p.mul_(3.0)  # larger weights: saturating, less trivial dynamics
    m.eval()
    out = tmp_path_factory.mktemp("model")
    export_model(m, out, "rnd", extra={"peak_threshold": 0.4})
    return m, out / "rnd.onnx"


def _frames(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lm = np.abs(rng.normal(2.0, 1.5, (n, 64))).astype(np.float32)
    return D.full_features(lm)


def test_torch_onnx_streaming_sequence_parity(random_model):
    m, path = random_model
    net = BeatNetwork(path)
    x = _frames(400)
    with torch.no_grad():
        ref = torch.sigmoid(m(torch.from_numpy(x)[None])[0][0]).numpy()
    seq = net.process_sequence(x)
    net.reset()
    stream = np.array([net.process_frame(f) for f in x], np.float32)
    assert seq.shape == (400, 2)
    assert np.abs(ref - seq).max() <= TOL
    assert np.abs(seq - stream).max() <= TOL
    assert np.abs(ref - stream).max() <= TOL
    # reset really restarts the stream; the sequence call leaves the streaming state alone
    net.reset()
    first = np.array([net.process_frame(f) for f in x[:50]], np.float32)
    net.process_sequence(x[:10])
    cont = np.array([net.process_frame(f) for f in x[50:100]], np.float32)
    assert np.abs(first - stream[:50]).max() <= TOL
    assert np.abs(cont - stream[50:100]).max() <= TOL
    assert net.params == FrontendParams()
    assert net.peak_threshold == pytest.approx(0.4)
    # batches of any size (one onnxruntime call each) continue the same stream
    assert net.batched and net.max_frames > 1
    net.reset()
    sizes = [1, 7, 64, 3, 100, 225]             # 100 and 225 exceed max_frames: split
    out, i = [], 0
    for n in sizes:
        out.append(net.process_frames(x[i:i + n]).copy())
        i += n
    assert np.abs(np.concatenate(out) - stream).max() <= TOL



def test_mean_ensemble_is_one_graph_that_averages_its_members(random_model, tmp_path):
    """Two networks exported as one ensemble (from a torch model and from an exported file, as
    shipping one with an older model does) give exactly the mean of their own outputs, streaming
    in any batch size and as a sequence, with each member's state carried separately."""
    from export.onnx_export import export_weights, gru_weights, weights_from_onnx

    m0, p0 = random_model
    torch.manual_seed(1)
    m1 = BeatGRU(hidden=16, layers=1, proj=24)       # members need not share a shape
    with torch.no_grad():
        m1.mean.uniform_(0.0, 3.0)
        m1.std.uniform_(0.3, 2.0)
        for p in m1.parameters():
            p.mul_(3.0)
    m1.eval()
    export_model(m1, tmp_path, "one")
    w0, meta0 = weights_from_onnx(p0)
    assert meta0["beatd.model.version"] == "1"
    p_ens, _ = export_weights([w0, gru_weights(m1)], tmp_path, "ens", "1+1")
    a, b, ens = BeatNetwork(p0), BeatNetwork(tmp_path / "one.onnx"), BeatNetwork(p_ens)
    assert [s["input"] for s in ens.state_spec] == ["m0_h0_in", "m0_h1_in", "m1_h0_in"]
    x = _frames(300)
    mean = (a.process_sequence(x) + b.process_sequence(x)) / 2
    assert np.abs(a.process_sequence(x) - b.process_sequence(x)).max() > 0.05   # not alike
    assert np.abs(ens.process_sequence(x) - mean).max() <= TOL
    out, i = [], 0
    for n in [1, 5, 64, 30, 200]:
        out.append(ens.process_frames(x[i:i + n]).copy())
        i += n
    assert np.abs(np.concatenate(out) - mean).max() <= TOL
    # a single member re-exported from its file is the same model
    export_weights(w0, tmp_path, "again", "1")
    again = BeatNetwork(tmp_path / "again.onnx")
    assert again.metadata["beatd.model.weights_sha256"] == meta0["beatd.model.weights_sha256"]
    assert np.abs(again.process_sequence(x) - a.process_sequence(x)).max() == 0.0
    with pytest.raises(ValueError, match="ensemble file cannot be a member"):
        weights_from_onnx(p_ens)


def test_music_head_adds_a_column_and_leaves_the_beats_alone(random_model, tmp_path):
    """A music head (``export.music_head``) on a network's GRU outputs: the exported pair has a
    third activation column equal to the head computed in numpy on both layers' outputs, in
    every batch size and as a sequence; the beat and downbeat columns are the network's own,
    to the bit; the file round-trips through ``weights_from_onnx``."""
    from export.music_head import gru_outputs_session, predict
    from export.onnx_export import export_weights, weights_from_onnx

    _, p0 = random_model
    w, _ = weights_from_onnx(p0)
    rng = np.random.default_rng(5)
    d = sum(w["hidden"] for _ in w["gru"])
    w["music"] = [(rng.normal(0, 0.3, (d, 8)), rng.normal(0, 0.1, 8)),
                  (rng.normal(0, 0.5, (8, 1)), rng.normal(0, 0.1, 1))]
    p_m, _ = export_weights(w, tmp_path, "withmusic", "1m")
    plain, net = BeatNetwork(p0), BeatNetwork(p_m)
    assert (plain.n_outputs, plain.has_music) == (2, False)
    assert (net.n_outputs, net.has_music, net.outputs) == (3, True, ["beat", "downbeat", "music"])
    x = _frames(300)
    seq = net.process_sequence(x)
    assert seq.shape == (300, 3)
    assert np.array_equal(seq[:, :2], plain.process_sequence(x))
    sess, names = gru_outputs_session(w)
    feats = np.concatenate([o[:, 0] for o in sess.run(names, {"features": x[None]})], axis=1)
    ref = predict(w["music"], feats.astype(np.float64))
    assert 0.05 < ref.std() and np.abs(seq[:, 2] - ref).max() <= TOL
    out, i = [], 0
    for n in [1, 7, 64, 28, 200]:
        out.append(net.process_frames(x[i:i + n]).copy())
        i += n
    assert np.abs(np.concatenate(out) - seq).max() <= TOL
    w2, meta = weights_from_onnx(p_m)
    assert meta["beatd.model.outputs"] == "beat,downbeat,music"
    assert all(np.allclose(a, b) for la, lb in zip(w["music"], w2["music"]) for a, b in zip(la, lb))
    with pytest.raises(ValueError, match="ensemble cannot have a music head"):
        export_weights([w, w], tmp_path, "ens", "1")


def test_music_branch_gives_another_models_music_column_to_the_beat_network(random_model,
                                                                             tmp_path):
    """``export.onnx_export --music-from``: the music head of one model, reading that model's own
    projection and GRU layers (a music branch, here of other sizes), joins another model's beat
    network. The music column equals the source's and the beat columns the beat model's, to
    the bit, streaming in any batch size and as a sequence; the branch's states are listed; the
    file round-trips, and serves as a music source itself."""
    from export.onnx_export import export_weights, weights_from_onnx, with_music_branch

    _, p_beat = random_model
    torch.manual_seed(1)
    src_model = BeatGRU(hidden=16, layers=1, proj=12)
    src_model.eval()
    export_model(src_model, tmp_path, "src")
    w_src, _ = weights_from_onnx(tmp_path / "src.onnx")
    rng = np.random.default_rng(6)
    w_src["music"] = [(rng.normal(0, 0.8, (16, 4)), rng.normal(0, 0.1, 4)),
                      (rng.normal(0, 0.8, (4, 1)), rng.normal(0, 0.1, 1))]
    p_src, _ = export_weights(w_src, tmp_path, "srcm", "1m")
    with pytest.raises(ValueError, match="no music head"):
        with_music_branch(weights_from_onnx(p_beat)[0], weights_from_onnx(tmp_path / "src.onnx")[0])
    subprocess.run([sys.executable, "-m", "export.onnx_export", "--ckpt", str(p_beat),
                    "--music-from", str(p_src), "--out", str(tmp_path), "--name", "joined",
                    "--version", "9"], check=True, capture_output=True)
    beat, src, net = (BeatNetwork(p) for p in (p_beat, p_src, tmp_path / "joined.onnx"))
    assert net.outputs == ["beat", "downbeat", "music"]
    assert [s["input"] for s in net.state_spec] == ["h0_in", "h1_in", "mg_h0_in"]
    x = _frames(300, seed=3)
    seq = net.process_sequence(x)
    ref_music = src.process_sequence(x)[:, 2]
    assert 0.05 < ref_music.std()
    assert np.array_equal(seq[:, 2], ref_music)
    assert np.array_equal(seq[:, :2], beat.process_sequence(x))
    out, i = [], 0
    for n in [1, 7, 64, 28, 200]:
        out.append(net.process_frames(x[i:i + n]).copy())
        i += n
    assert np.abs(np.concatenate(out) - seq).max() <= TOL
    w_joined, meta = weights_from_onnx(tmp_path / "joined.onnx")
    assert json.loads(meta["beatd.train.summary"])["music_branch"]["base_model"] == \
        "srcm.onnx version 1m"
    again = with_music_branch(weights_from_onnx(p_beat)[0], w_joined)
    p_again, _ = export_weights(again, tmp_path, "again", "9")
    assert np.array_equal(BeatNetwork(p_again).process_sequence(x), seq)


def _edit_meta(src: Path, dst: Path, drop: str | None = None, set_: dict | None = None) -> None:
    m = onnx.load(str(src))
    props = {p.key: p.value for p in m.metadata_props}
    if drop:
        props.pop(drop)
    props.update(set_ or {})
    del m.metadata_props[:]
    onnx.helper.set_model_props(m, props)
    onnx.save(m, str(dst))


def test_a_shipped_file_becomes_a_torch_model_that_computes_the_same(random_model):
    """``model_from_weights`` inverts ``gru_weights`` (gate order and the folded
    normalisation), so ``export.train --init FILE`` fine-tunes exactly the network in FILE."""
    from export.onnx_export import gru_weights, model_from_weights, weights_from_onnx

    m, path = random_model
    w, _ = weights_from_onnx(path)
    back = model_from_weights(w)
    back.eval()
    x = _frames(300)
    with torch.no_grad():
        ref = torch.sigmoid(m(torch.from_numpy(x)[None])[0][0]).numpy()
        got = torch.sigmoid(back(torch.from_numpy(x)[None])[0][0]).numpy()
    assert np.abs(ref - got).max() <= TOL
    again = gru_weights(back)
    for mine, theirs in zip(again["gru"], w["gru"]):
        for a, b in zip(mine, theirs):
            assert np.abs(a - b).max() < 1e-6


def test_metadata_errors(random_model, tmp_path):
    _, path = random_model
    bad = tmp_path / "bad.onnx"
    _edit_meta(path, bad, drop="beatd.frontend.n_mels")
    with pytest.raises(ValueError, match="beatd.frontend.n_mels"):
        BeatNetwork(bad)
    _edit_meta(path, bad, set_={"beatd.frontend.n_mels": "80"})  # 160 features vs graph's 128
    with pytest.raises(ValueError, match="n_features"):
        BeatNetwork(bad)
    _edit_meta(path, bad, set_={"beatd.model.format": "something-else"})
    with pytest.raises(ValueError, match="beatd.model.format"):
        BeatNetwork(bad)
    _edit_meta(path, bad, set_={"beatd.model.state": json.dumps(
        [{"input": "h0_in", "output": "h0_out", "shape": [1, 1, 99]}])})
    with pytest.raises(ValueError, match="beatd.model.state"):
        BeatNetwork(bad)
    # a sequence file from other weights next to the streaming file
    ok = tmp_path / "pair.onnx"
    _edit_meta(path, ok)
    _edit_meta(path.with_name("rnd.seq.onnx"), tmp_path / "pair.seq.onnx",
               set_={"beatd.model.weights_sha256": "0" * 64})
    with pytest.raises(ValueError, match="weights_sha256"):
        BeatNetwork(ok)
    with pytest.raises(ValueError, match="streaming"):
        BeatNetwork(path.with_name("rnd.seq.onnx"))


def _tiny_run(out, *extra: str) -> list[str]:
    """``export.train`` arguments for a tiny network on a few seconds of synthetic audio."""
    return ["--out", str(out), "--synth-per-level", "1", "--synth-val-per-level", "1",
            "--synth-seconds", "5", "--charts", "", "--batch", "2", "--crop", "150",
            "--warmup", "1", "--hidden", "16", "--proj", "16", "--workers", "1",
            "--threads", "1", "--quiet", "--name", "tiny", *extra]


def test_tiny_training_run(tmp_path, monkeypatch):
    from export import train

    monkeypatch.setattr(D, "FEATURE_DIR", tmp_path / "features")
    out = tmp_path / "run"
    metrics = train.main(_tiny_run(out, "--steps", "3", "--val-every", "3", "--ckpt-every", "2"))
    assert metrics["summary"]["steps_done"] == 3
    for f in ("last.pt", "best.pt", "tiny.onnx", "tiny.seq.onnx", "metrics.json", "report.md"):
        assert (out / f).exists(), f
    net = BeatNetwork(out / "tiny.onnx")
    assert net.params == FrontendParams()
    x = _frames(120)
    seq = net.process_sequence(x)
    stream = np.array([net.process_frame(f) for f in x], np.float32)
    assert np.abs(seq - stream).max() <= TOL
    assert ((seq >= 0) & (seq <= 1)).all()
    # resume continues from last.pt and reaches the new step count
    metrics = train.main(_tiny_run(out, "--steps", "4", "--val-every", "4", "--resume",
                                   "--no-export"))
    assert metrics["summary"]["steps_done"] == 4
    # --init starts a new run from an exported file's weights (fine-tuning)
    init = ("--init", str(out / "tiny.onnx"), "--steps", "1", "--val-every", "1", "--no-export")
    metrics = train.main(_tiny_run(tmp_path / "ft", *init))
    assert metrics["summary"]["steps_done"] == 1
    assert "initialised from" in (tmp_path / "ft" / "train.log").read_text()
    with pytest.raises(SystemExit, match="hidden 16.*asks for.*hidden 24"):
        train.main(_tiny_run(tmp_path / "ft2", *init, "--hidden", "24"))
    # --tempo-loss: a fine-tune with a training-only tempo head; the export leaves it out
    mt = tmp_path / "mt"
    train.main(_tiny_run(mt, "--init", str(out / "tiny.onnx"), "--steps", "2",
                         "--val-every", "2", "--tempo-loss", "0.5"))
    assert "train tempo cross-entropy" in (mt / "train.log").read_text()
    ck = torch.load(mt / "best.pt", map_location="cpu", weights_only=False)
    assert ck["config"]["tempo_classes"] > 0 and "tempo_out.weight" in ck["model"]
    assert BeatNetwork(mt / "tiny.onnx").process_sequence(x).shape == (len(x), 2)
    with pytest.raises(SystemExit, match="arch gru only"):
        train.main(_tiny_run(tmp_path / "tcn", "--arch", "tcn", "--tempo-loss", "0.5"))


def test_targets_and_peaks():
    y = D.targets(np.array([10.2, 20.6]), np.array([True, False]), 30)
    assert y[10, 0] == 1.0 and y[9, 0] == 0.5 and y[11, 0] == 0.5 and y[21, 0] == 1.0
    assert y[10, 1] == 1.0 and y[21, 1] == 0.0
    act = np.zeros(100)
    act[[10, 11, 12, 50]] = [0.5, 0.9, 0.4, 0.6]
    assert list(causal_peaks(act, 0.3)) == [10, 50]


def test_realtime_does_not_import_torch():
    code = "import sys, realtime.network, realtime.frontend; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_shipped_model_loads():
    p = default_model_path()
    assert p.exists(), f"the shipped model {p} is missing"
    assert p.stat().st_size <= 2 * 1024 * 1024
    net = BeatNetwork(p)
    assert net.params == FrontendParams()
    assert net.has_music      # version 3: version 2's network and a music head
    x = _frames(200)
    seq = net.process_sequence(x)
    stream = np.array([net.process_frame(f) for f in x], np.float32)   # beat, downbeat
    assert np.abs(seq[:, :2] - stream).max() <= TOL
    assert np.abs(seq - np.concatenate([net.process_frames(x[i:i + 50]).copy()
                                        for i in range(0, 200, 50)])).max() > 0   # stream moved on
    net.reset()
    blocks = np.concatenate([net.process_frames(x[i:i + 50]).copy() for i in range(0, 200, 50)])
    assert np.abs(seq - blocks).max() <= TOL
