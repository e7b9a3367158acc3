#!/usr/bin/env python3
"""qmp_pinger.py - the latency client of bench/monitor_latency.py, run as its
own process so the driver's work never delays a ping.

  qmp_pinger.py SOCKET INTERVAL_MS OUTFILE [--fifo]

Connects to the QMP unix SOCKET, negotiates, prints "ready" on stdout, then
sends `query-status` on a fixed schedule (one every INTERVAL_MS; one request in
flight at a time: a late reply is followed by the next request at once) with a
blocking socket, timing each round trip with time.perf_counter_ns(). Events the
server broadcasts on this connection are skipped. On SIGUSR1 (or when the
server closes) it stops after the reply in flight and writes the samples to
OUTFILE as native int64 pairs (send ns, reply ns). With --fifo it asks for
SCHED_FIFO priority 1 (when allowed; "ready fifo" says it got it, else
"ready other"): it sleeps nearly all the time, so this only keeps other busy
processes from delaying the client's own wake-up and reading, which would be
counted as monitor latency. Exit 0, 1 on error.
"""
import array
import json
import os
import signal
import socket
import sys
import time

stop = False


def on_usr1(signum, frame):
    global stop
    stop = True


def main():
    path, interval_ms, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    sched = "other"
    if "--fifo" in sys.argv[4:]:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
            sched = "fifo"
        except (OSError, AttributeError):
            pass
    signal.signal(signal.SIGUSR1, on_usr1)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    buf = b""

    def line():
        nonlocal buf
        while True:
            i = buf.find(b"\n")
            if i >= 0:
                ln, buf = buf[:i], buf[i + 1:]
                return ln
            c = s.recv(65536)
            if not c:
                return None
            buf += c

    if b"QMP" not in (line() or b""):
        sys.exit("qmp_pinger: no greeting")
    s.sendall(b'{"execute": "qmp_capabilities"}\n')
    while True:
        ln = line()
        if ln is None:
            sys.exit("qmp_pinger: closed")
        if b'"return"' in ln:
            break
    sys.stdout.write("ready %s\n" % sched)
    sys.stdout.flush()

    req = b'{"execute": "query-status"}\n'
    step = int(interval_ms * 1e6)
    pc = time.perf_counter_ns
    samples = array.array("q")
    nxt = pc()
    closed = False
    while not stop:
        now = pc()
        if now < nxt:
            time.sleep((nxt - now) / 1e9)
            if stop:
                break
        t0 = pc()
        s.sendall(req)
        while True:
            ln = line()
            if ln is None:
                closed = True
                break
            # a reply has "return" or "error"; events are skipped
            if b'"event"' in ln and b'"return"' not in ln:
                try:
                    if "event" in json.loads(ln):
                        continue
                except ValueError:
                    pass
            break
        t1 = pc()
        if closed:
            break
        samples.append(t0)
        samples.append(t1)
        nxt += step
        if nxt < t1:
            nxt = t1
    with open(out, "wb") as fo:
        samples.tofile(fo)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
