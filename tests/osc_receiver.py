"""An OSC receiver process (python-osc server) that records every message with its arrival time.

usage: python osc_receiver.py PORT OUT.json
Prints READY once bound; on SIGTERM writes ``[[monotonic_s, address, args...], ...]``.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from procs import wait_for_term  # noqa: E402


def main() -> int:
    port, out = int(sys.argv[1]), sys.argv[2]
    got: list = []
    disp = Dispatcher()
    disp.set_default_handler(lambda addr, *args: got.append([time.monotonic(), addr, *args]))
    server = ThreadingOSCUDPServer(("127.0.0.1", port), disp)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    print("READY", flush=True)
    wait_for_term(600)
    with open(out, "w") as f:
        json.dump(list(got), f)
    os._exit(0)     # no server.shutdown(): nothing of it is needed, and nothing may hang here


if __name__ == "__main__":
    sys.exit(main())
