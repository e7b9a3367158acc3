#!/usr/bin/env python3
"""test_vmm.py - integration tests of vmig-vmm's monitor and of `vmig qmp`,
through real sockets, with QEMU 7.2's behaviour and texts.

  test_vmm.py CASE --vmm PATH --vmig PATH
CASE:
  stop-cont     stop/cont from one client, STOP/RESUME seen by a second; a
                second stop or cont changes nothing and sends nothing
  quit          SHUTDOWN {"guest": false, "reason": "host-qmp-quit"} before
                the reply, then the process exits 0 and the socket goes
  signals       SIGTERM and SIGINT: SHUTDOWN "host-signal", exit 0
  fds           getfd/closefd with a real descriptor (counted in /proc),
                replacing a name, 7.2's error texts
  prelaunch     -S: "prelaunch", stop does nothing, cont -> RESUME, running
  sockets       three --qmp sockets (unix and tcp), an event reaches all
  cli           `vmig qmp`: output, exit codes 0/1/2, --fd, --events
  usage         vmig-vmm's own exit codes and --memory-file rules
Exit status: 0 pass, 1 fail.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp_py  # noqa: E402
from qmp_py import Fail, check  # noqa: E402


def status(c):
    return c.ok("query-status")


def expect_event(c, name, timeout=5.0):
    ev = c.event(timeout)
    check(ev is not None, "no %s event" % name)
    check(ev["event"] == name, "expected %s, got %r" % (name, ev))
    ts = ev.get("timestamp", {})
    check(isinstance(ts.get("seconds"), int) and isinstance(ts.get("microseconds"), int),
          "bad timestamp in %r" % (ev,))
    return ev


def case_stop_cont(a, d):
    with qmp_py.start_vmm(a.vmm, d) as p:
        c1, c2 = p.client(), p.client()
        check(status(c1) == {"status": "running", "singlestep": False, "running": True},
              "initial status %r" % status(c1))
        check(c1.ok("stop") == {}, "stop reply")
        expect_event(c1, "STOP")
        ev = expect_event(c2, "STOP")
        check("data" not in ev, "STOP has no data in 7.2: %r" % ev)
        check(status(c2) == {"status": "paused", "singlestep": False, "running": False},
              "paused status %r" % status(c2))
        c1.ok("stop")  # already paused: nothing happens
        c2.no_event()
        c2.ok("cont")
        expect_event(c1, "RESUME")
        expect_event(c2, "RESUME")
        c2.ok("cont")
        c1.no_event()
        check(status(c1)["status"] == "running", "not running after cont")
        # A client that has not negotiated gets no events.
        c3 = p.client(negotiate=False)
        c1.ok("stop")
        expect_event(c2, "STOP")
        try:
            m = c3.recv(timeout=0.3)
        except socket.timeout:
            m = None
        check(m is None, "un-negotiated client got %r" % (m,))
        c1.ok("quit")
        check(p.wait() == 0, "exit status")


def case_quit(a, d):
    with qmp_py.start_vmm(a.vmm, d) as p:
        c, watcher = p.client(), p.client()
        c.send({"execute": "quit", "id": "q"})
        m1 = c.recv()
        m2 = c.recv()
        check(m1 and m1.get("event") == "SHUTDOWN", "SHUTDOWN first, got %r" % (m1,))
        check(m1["data"] == {"guest": False, "reason": "host-qmp-quit"}, "data %r" % m1)
        check(m2 == {"return": {}, "id": "q"}, "reply %r" % (m2,))
        expect_event(watcher, "SHUTDOWN")
        check(c.recv() is None, "connection not closed after quit")
        check(p.wait() == 0, "exit status %r" % p.proc.returncode)
        check(not os.path.exists(p.sockets[0]), "socket file left behind")
        check(p.stderr_text() == "", "stderr: %r" % p.stderr_text())


def case_signals(a, d):
    for sig in (signal.SIGTERM, signal.SIGINT):
        with qmp_py.start_vmm(a.vmm, d) as p:
            c = p.client()
            p.proc.send_signal(sig)
            ev = expect_event(c, "SHUTDOWN")
            check(ev["data"] == {"guest": False, "reason": "host-signal"}, "data %r" % ev)
            check(p.wait() == 0, "exit status %r after %s" % (p.proc.returncode, sig))
            check("terminating on signal %d" % sig in p.stderr_text(),
                  "stderr %r" % p.stderr_text())


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def expect_fd_count(pid, want, what):
    """Connections close asynchronously: wait a little for the count."""
    deadline = time.monotonic() + 3
    while fd_count(pid) != want:
        check(time.monotonic() < deadline, "%s: %d descriptors, want %d" %
              (what, fd_count(pid), want))
        time.sleep(0.02)


def case_fds(a, d):
    with qmp_py.start_vmm(a.vmm, d) as p:
        c = p.client()
        pid = p.proc.pid
        base = fd_count(pid)
        e = c.error("getfd", {"fdname": "mig"})
        check(e == {"class": "GenericError", "desc": "No file descriptor supplied via SCM_RIGHTS"},
              "getfd without fd: %r" % e)
        e = c.error("closefd", {"fdname": "mig"})
        check(e == {"class": "GenericError", "desc": "File descriptor named 'mig' not found"},
              "closefd unknown: %r" % e)
        path = os.path.join(d, "passed")
        with open(path, "w") as f:
            check(c.ok("getfd", {"fdname": "mig"}, fd=f.fileno()) == {}, "getfd")
            check(fd_count(pid) == base + 1, "the vmm does not hold the fd")
            # The same name again replaces (and closes) the first one.
            c.ok("getfd", {"fdname": "mig"}, fd=f.fileno())
            check(fd_count(pid) == base + 1, "replacing leaked a descriptor")
            c.ok("getfd", {"fdname": "other"}, fd=f.fileno())
            check(fd_count(pid) == base + 2, "second name")
            e = c.error("getfd", {"fdname": "9lives"}, fd=f.fileno())
            check(e == {"class": "GenericError",
                        "desc": "Parameter 'fdname' expects a name not starting with a digit"},
                  "digit name: %r" % e)
            check(fd_count(pid) == base + 2, "the refused fd was kept")
        c.ok("closefd", {"fdname": "mig"})
        c.ok("closefd", {"fdname": "other"})
        check(fd_count(pid) == base, "closefd did not close")
        e = c.error("closefd", {"fdname": "mig"})
        check(e["desc"] == "File descriptor named 'mig' not found", "second closefd %r" % e)
        # Names are the engine's: a descriptor passed on one connection can
        # be closed from another.
        with open(path) as f:
            c.ok("getfd", {"fdname": "shared"}, fd=f.fileno())
        c2 = p.client()
        c2.ok("closefd", {"fdname": "shared"})
        check(fd_count(pid) == base + 1, "cross-connection closefd")  # + c2's socket
        c.ok("quit")
        check(p.wait() == 0, "exit status")


def case_prelaunch(a, d):
    with qmp_py.start_vmm(a.vmm, d, extra=["-S"]) as p:
        c, w = p.client(), p.client()
        check(status(c) == {"status": "prelaunch", "singlestep": False, "running": False},
              "status %r" % status(c))
        c.ok("stop")
        w.no_event()
        check(status(c)["status"] == "prelaunch", "stop changed prelaunch")
        c.ok("cont")
        expect_event(w, "RESUME")
        check(status(c) == {"status": "running", "singlestep": False, "running": True},
              "after cont %r" % status(c))
        c.ok("quit")
        check(p.wait() == 0, "exit status")


def case_sockets(a, d):
    port = qmp_py.free_port()
    tcp = "tcp:127.0.0.1:%d" % port
    socks = [os.path.join(d, "a.sock"), os.path.join(d, "b.sock")]
    argv = [a.vmm, "--machine", "none", "--memory", "16M", "--qmp", "unix:" + socks[0],
            "--qmp", "unix:" + socks[1], "--qmp", tcp]
    with qmp_py.Proc(argv, socks, d) as p:
        deadline = time.monotonic() + 5
        while True:
            try:
                ct = qmp_py.Client(tcp)
                break
            except OSError:
                check(time.monotonic() < deadline, "tcp socket not listening")
                time.sleep(0.02)
        ca, cb = qmp_py.Client(socks[0]), qmp_py.Client(socks[1])
        for s in socks:
            check(os.stat(s).st_mode & 0o777 == 0o600, "%s is not owner-only" % s)
        ca.ok("stop")
        for c in (ca, cb, ct):
            expect_event(c, "STOP")
            check(status(c)["status"] == "paused", "status on every socket")
        ct.ok("cont")
        for c in (ca, cb, ct):
            expect_event(c, "RESUME")
        # The C client over tcp too.
        r = run_cli(a, [tcp, "query-status"])
        check(r.returncode == 0 and json.loads(r.stdout)["status"] == "running",
              "vmig qmp over tcp: %d %r" % (r.returncode, r.stderr))
        # Many short connections on one socket while another stays usable.
        for _ in range(50):
            qmp_py.Client(socks[1]).close()
        check(status(ca)["status"] == "running", "still serving")
        cb.ok("quit")
        check(p.wait() == 0, "exit status")


def run_cli(a, args, timeout=20):
    return subprocess.run([a.vmig, "qmp"] + args, capture_output=True, text=True,
                          timeout=timeout)


def case_cli(a, d):
    with qmp_py.start_vmm(a.vmm, d) as p:
        sock = p.sockets[0]
        base = fd_count(p.proc.pid)  # no client yet
        r = run_cli(a, [sock, "query-status"])
        check(r.returncode == 0, "query-status: %d %s" % (r.returncode, r.stderr))
        check(json.loads(r.stdout) == {"status": "running", "singlestep": False,
                                       "running": True}, "output %r" % r.stdout)
        check("\n  " in r.stdout, "not pretty-printed: %r" % r.stdout)
        r = run_cli(a, ["unix:" + sock, "query-version", "--json"])
        check(r.returncode == 0 and "return" in json.loads(r.stdout), "--json %r" % r.stdout)
        check(r.stdout.count("\n") == 1, "--json is one line")
        # Error reply: exit 1, "error: CLASS: desc".
        r = run_cli(a, [sock, "closefd", '{"fdname": "nosuch"}'])
        check(r.returncode == 1, "error reply exit %d" % r.returncode)
        check(r.stderr.strip() == "error: GenericError: File descriptor named 'nosuch' not found",
              "stderr %r" % r.stderr)
        r = run_cli(a, [sock, "no-such-command"])
        check(r.returncode == 1 and r.stderr.startswith("error: CommandNotFound: "),
              "unknown command: %d %r" % (r.returncode, r.stderr))
        # Bad usage: exit 2.
        for bad in ([], [sock], [sock, "stop", "{not json"], [sock, "stop", "[1]"],
                    [sock, "getfd", "x"], [sock, "stop", "--bogus"], [sock, "--events", "stop"]):
            r = run_cli(a, bad)
            check(r.returncode == 2, "usage %r: exit %d" % (bad, r.returncode))
            check(r.stderr.strip(), "usage %r: no message" % (bad,))
        r = run_cli(a, ["--help"])
        check(r.returncode == 0 and "usage" in r.stdout, "--help")
        # getfd NAME --fd FILE, then the descriptor is there to close.
        f = os.path.join(d, "fd-file")
        r = run_cli(a, [sock, "getfd", "mig", "--fd", f])
        check(r.returncode == 0, "getfd --fd: %d %s" % (r.returncode, r.stderr))
        check(os.path.exists(f), "--fd did not create the file")
        expect_fd_count(p.proc.pid, base + 1, "after getfd --fd")
        r = run_cli(a, [sock, "closefd", '{"fdname": "mig"}'])
        check(r.returncode == 0, "closefd %s" % r.stderr)
        expect_fd_count(p.proc.pid, base, "after closefd")
        # --events: follows until SIGINT (exit 0).
        ev = subprocess.Popen([a.vmig, "qmp", sock, "--events"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        c = p.client()
        wait_connections(p, base + 2)
        c.ok("stop")
        line = ev.stdout.readline()
        check(json.loads(line)["event"] == "STOP", "--events printed %r" % line)
        c.ok("cont")
        line = ev.stdout.readline()
        check(json.loads(line)["event"] == "RESUME", "--events printed %r" % line)
        ev.send_signal(signal.SIGINT)
        check(ev.wait(10) == 0, "--events after SIGINT: %r" % ev.returncode)
        # --events ends with 0 when the monitor goes away (quit).
        c.close()
        ev = subprocess.Popen([a.vmig, "qmp", sock, "--events"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        wait_connections(p, base + 1)
        r = run_cli(a, [sock, "quit"])
        check(r.returncode == 0, "quit via cli: %s" % r.stderr)
        out, _ = ev.communicate(timeout=10)
        check(ev.returncode == 0, "--events at close: %r" % ev.returncode)
        check('"SHUTDOWN"' in out, "--events missed SHUTDOWN: %r" % out)
        check(p.wait() == 0, "vmm exit status")
    # Nobody listening: exit 1 with one line.
    r = run_cli(a, [os.path.join(d, "nobody.sock"), "query-status"])
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
          "connect failure: %d %r" % (r.returncode, r.stderr))


def wait_connections(p, nfds):
    """Wait until the vmm holds nfds descriptors (one per connection), then
    a little longer for the newest client to negotiate."""
    deadline = time.monotonic() + 5
    while fd_count(p.proc.pid) < nfds:
        check(time.monotonic() < deadline, "client did not connect")
        time.sleep(0.02)
    time.sleep(0.3)


def run_vmm(a, args, timeout=10):
    return subprocess.run([a.vmm] + args, capture_output=True, text=True, timeout=timeout)


def case_usage(a, d):
    sock = "unix:" + os.path.join(d, "u.sock")
    for bad in ([], ["--memory", "64M"], ["--qmp", sock], ["--memory", "lots", "--qmp", sock],
                ["--memory", "64M", "--qmp", sock, "--machine", "pc"],
                ["--memory", "64M", "--qmp", sock, "--bogus"],
                ["--memory", "64M", "--qmp", sock, "extra"], ["--memory"]):
        r = run_vmm(a, bad)
        check(r.returncode == 2, "%r: exit %d" % (bad, r.returncode))
        check(len(r.stderr.strip().splitlines()) == 1, "%r: stderr %r" % (bad, r.stderr))
    r = run_vmm(a, ["--help"])
    check(r.returncode == 0 and "usage" in r.stdout, "--help")
    # Not a page multiple, a file of the wrong size, an unusable socket: exit 1.
    r = run_vmm(a, ["--memory", "1001K", "--qmp", sock])
    check(r.returncode == 1 and "page" in r.stderr, "1001K: %d %r" % (r.returncode, r.stderr))
    mf = os.path.join(d, "ram")
    with open(mf, "wb") as f:
        f.write(b"x" * 4096)
    r = run_vmm(a, ["--memory", "64M", "--memory-file", mf, "--qmp", sock])
    check(r.returncode == 1, "wrong-size memory file: exit %d" % r.returncode)
    check("4096" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          "wrong-size message %r" % r.stderr)
    r = run_vmm(a, ["--memory", "64M", "--qmp", "unix:" + os.path.join(d, "no", "dir.sock")])
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
          "bad socket: %d %r" % (r.returncode, r.stderr))
    # A missing file is created with the size; an existing one keeps its content.
    os.unlink(mf)
    with qmp_py.start_vmm(a.vmm, d, memory="8M", extra=["--memory-file", mf]) as p:
        p.client().ok("quit")
        check(p.wait() == 0, "exit status")
    check(os.path.getsize(mf) == 8 << 20, "memory file size %d" % os.path.getsize(mf))
    pattern = bytes((i * 7) & 0xff for i in range(8 << 20))
    with open(mf, "wb") as f:
        f.write(pattern)
    with qmp_py.start_vmm(a.vmm, d, memory="8M", extra=["--memory-file", mf]) as p:
        p.client().ok("quit")
        check(p.wait() == 0, "exit status")
    with open(mf, "rb") as f:
        check(f.read() == pattern, "memory file content changed")
    # 1000 MiB (bare number = MiB) anonymous: starts (NORESERVE), quits.
    with qmp_py.start_vmm(a.vmm, d, memory="1000") as p:
        p.client().ok("quit")
        check(p.wait() == 0, "bare-number memory")


CASES = {
    "stop-cont": case_stop_cont,
    "quit": case_quit,
    "signals": case_signals,
    "fds": case_fds,
    "prelaunch": case_prelaunch,
    "sockets": case_sockets,
    "cli": case_cli,
    "usage": case_usage,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--vmig", required=True)
    a = ap.parse_args()
    d = qmp_py.tmpdir()
    try:
        CASES[a.case](a, d)
    except (Fail, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
        print("test_vmm %s: FAIL: %s: %s" % (a.case, type(e).__name__, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("test_vmm %s: ok" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
