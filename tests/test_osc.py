"""OSC out and control in, over real UDP sockets to and from python-osc."""
from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from procs import free_port, osc_receiver
from realtime.events import Beat, Status
from realtime.osc_control import OscControl
from realtime.osc_out import OscOutput, OscTarget

HERE = Path(__file__).parent


def test_beats_leave_at_their_scheduled_time_to_every_target(tmp_path):
    (pa, a), (pb, b), (pc, c) = (osc_receiver(tmp_path, n) for n in "abc")
    dead = free_port()          # nothing listens there: must not disturb the others
    out = OscOutput([
        OscTarget(port=pa),
        OscTarget(port=pb, prefix="/lights", messages=("downbeat", "bpm"), latency_ms=40.0),
        OscTarget(port=dead),
        OscTarget(port=pc, messages=("phase", "state", "beat"), latency_ms=-20.0),
    ], phase_rate=60.0)
    out.start()
    started = time.monotonic()
    t0 = started + 0.3
    beats = [Beat(when=t0 + 0.25 * k, beat_index=k, beat_in_bar=k % 4 + 1, bpm=240.0,
                  confidence=0.9) for k in range(8)]
    out.publish(Status(state="locked", bpm=240.0, confidence=0.9, last_beat_when=t0,
                       period=0.25, beat_in_bar=1))
    for bt in beats:            # committed well ahead, as the tracker does
        out.schedule(bt)
    time.sleep(t0 + 2.3 - time.monotonic())
    out.close()
    elapsed = time.monotonic() - started
    ra, rb, rc = a.stop(), b.stop(), c.stop()

    beat_a = [m for m in ra if m[1] == "/beatd/beat"]
    assert [m[2] for m in beat_a] == list(range(8))
    assert [m[3] for m in beat_a] == [1, 2, 3, 4, 1, 2, 3, 4]
    late_a = np.array([m[0] - bt.when for m, bt in zip(beat_a, beats)])
    # never early; timing precision itself is measured by bench/bench_osc.py, not asserted here
    assert late_a.min() > -0.001, "a beat left before its time"
    assert np.median(late_a) < 0.1
    down_b = [m for m in rb if m[1] == "/lights/downbeat"]
    assert [m[2] for m in down_b] == [0, 4]
    late_b = np.array([m[0] - beats[m[2]].when for m in down_b])
    assert np.all(late_b > 0.039) and np.median(late_b) < 0.14   # its own +40 ms offset
    assert not any(m[1].endswith("/beat") for m in rb)           # only what it asked for
    assert any(m[1] == "/lights/bpm" and abs(m[2] - 240.0) < 1e-3 for m in rb)
    beat_c = [m for m in rc if m[1] == "/beatd/beat"]
    late_c = np.array([m[0] - beats[m[2]].when for m in beat_c])
    assert len(beat_c) == 8 and late_c.min() > -0.021           # -20 ms: may fire early
    assert np.sum(late_c < -0.001) >= 4                          # ... and mostly does
    phases = [m for m in rc if m[1] == "/beatd/phase"]
    assert 0.8 * 60 * elapsed <= len(phases) <= 60 * elapsed + 2    # 60 Hz, none lost
    assert all(0.0 <= m[2] < 1.0 for m in phases), [m[2:] for m in phases
                                                     if not 0.0 <= m[2] < 1.0]
    assert any(m[1] == "/beatd/state" and m[2] == "locked" for m in rc)
    sent_dead = next(s for s in out.sinks if s.target.port == dead)
    assert sent_dead.sent + sent_dead.failed > 0


def send_raw(port: int, data: bytes) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(data, ("127.0.0.1", port))
    s.close()


def msg(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def drain(ctl: OscControl, n: int, timeout: float = 2.0) -> list:
    out = []
    end = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        try:
            out.append(ctl.commands.get(timeout=0.05))
        except Exception:
            pass
    return out


def test_control_messages_and_bad_input(caplog):
    status = Status(state="locked", bpm=128.0, confidence=0.8, device="system", overruns=2,
                    xruns=1)
    ctl = OscControl(port=0, status=lambda: status)
    ctl.start()
    port = ctl.address[1]
    try:
        client = SimpleUDPClient("127.0.0.1", port)
        with caplog.at_level(logging.WARNING, logger="beatd.osc"):
            send_raw(port, b"\x00garbage that is not OSC")
            send_raw(port, msg("/beatd/tap") + b"x" * 5000)          # oversized
            client.send_message("/beatd/nudge", "ten")                 # mistyped
            client.send_message("/beatd/lock", 7)                      # out of range
            client.send_message("/beatd/explode", [])                  # unknown
            client.send_message("/beatd/tap", [])
            client.send_message("/beatd/nudge", -12.5)
            client.send_message("/beatd/half", [])
            client.send_message("/beatd/double", [])
            client.send_message("/beatd/lock", 1)
            client.send_message("/beatd/downbeat", [])
            got = drain(ctl, 6)
        assert [(c.name, c.value) for c in got] == [
            ("tap", 0.0), ("nudge", -12.5), ("half", 0.0), ("double", 0.0), ("lock", 1.0),
            ("downbeat", 0.0)]
        assert got[0].when > 0
        assert ctl.ignored == 5
        warnings = [r for r in caplog.records if "ignored" in r.getMessage()]
        assert len(warnings) == 5                                      # one line each

        # status replies to the sender
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(2.0)
        s.sendto(msg("/beatd/status"), ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
        s.close()
        from pythonosc.osc_message import OscMessage
        reply = OscMessage(data)
        assert reply.address == "/beatd/status"
        assert reply.params[0] == "locked" and abs(reply.params[1] - 128.0) < 1e-3
        assert reply.params[3:] == ["system", 2, 1]
        assert ctl._thread.is_alive()
    finally:
        ctl.close()


def test_binding_beyond_localhost_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="beatd.osc"):
        ctl = OscControl(host="0.0.0.0", port=0)
        ctl.close()
    assert any("anyone on that network" in r.getMessage() for r in caplog.records)


def test_encoder_matches_python_osc():
    """beatd's OSC encoder produces python-osc's bytes, and python-osc parses them back."""
    from pythonosc.osc_message import OscMessage
    from realtime.osc_out import build_message
    cases = [("/beatd/beat", [7, 3, 128.25, 0.75, (1.7e9 + 0.125, "d")]),
             ("/beatd/state", ["locked", 0.5]), ("/x", []), ("/abc", ["abcd", "", -5])]
    for addr, args in cases:
        ref = OscMessageBuilder(address=addr)
        for a in args:
            ref.add_arg(*a) if isinstance(a, tuple) else ref.add_arg(a)
        dgram = build_message(addr, args)
        assert dgram == ref.build().dgram
        parsed = OscMessage(dgram)
        assert parsed.address == addr and len(parsed.params) == len(args)


def test_min_confidence_mutes_unsure_beats_for_that_target_only(tmp_path):
    """A target with ``min_confidence`` gets /beat and /downbeat only for beats at least that
    confident; the other target gets every beat, and the periodic messages go to both."""
    (pa, a), (pb, b) = (osc_receiver(tmp_path, n) for n in "ab")
    out = OscOutput([OscTarget(port=pa),
                     OscTarget(port=pb, min_confidence=0.5)], phase_rate=0.0)
    out.start()
    t0 = time.monotonic() + 0.3
    conf = [0.9, 0.1, 0.6, 0.49, 0.5, 0.2, 0.8, 0.05]
    out.publish(Status(state="locked", bpm=240.0, confidence=0.9, last_beat_when=t0,
                       period=0.25, beat_in_bar=1))
    for k, c in enumerate(conf):
        out.schedule(Beat(when=t0 + 0.25 * k, beat_index=k, beat_in_bar=k % 4 + 1, bpm=240.0,
                          confidence=c))
    time.sleep(t0 + 2.3 - time.monotonic())
    out.close()
    ra, rb = a.stop(), b.stop()
    assert [m[2] for m in ra if m[1] == "/beatd/beat"] == list(range(8))
    assert [m[2] for m in rb if m[1] == "/beatd/beat"] == [0, 2, 4, 6]
    assert [m[2] for m in rb if m[1] == "/beatd/downbeat"] == [0, 4]
    assert any(m[1] == "/beatd/bpm" for m in rb)


def test_phase_stays_below_one_as_an_osc_float():
    """``Status.phase`` is in [0, 1) also after the float32 rounding of an OSC message: a
    moment a few nanoseconds before the beat is the beat (phase 0), not 1.0 on the wire."""
    st = Status(period=0.25, last_beat_when=10.0)
    for now in (10.0 - 1e-9, 10.0 - 1e-17, 10.0, 10.0 + 1e-9, 10.1, 9.9, 10.25 - 1e-6):
        ph = st.phase(now)
        assert 0.0 <= ph < 1.0 and float(np.float32(ph)) < 1.0, (now, ph)
    assert st.phase(10.0 - 1e-9) == 0.0
    assert abs(st.phase(10.1) - 0.4) < 1e-9 and abs(st.phase(9.9) - 0.6) < 1e-9
