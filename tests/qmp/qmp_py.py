"""qmp_py.py - what the Python QMP tests share: a small QMP client over a real
socket (greeting, negotiation, commands with ids, events kept aside, a file
descriptor passed with SCM_RIGHTS), waiting for a migration status and
draining events, starting vmig-vmm or QEMU 7.2 -M none on private sockets,
RAM files, a free TCP port, comparing the shapes (keys and JSON types) of
messages, and the main() of the scripts that record QEMU 7.2's fixtures.
"""
import argparse
import array
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

DEFAULT_TIMEOUT = 10.0


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Client:
    """One QMP connection. execute() returns the whole reply; events that
    arrive before it are kept in self.events (oldest first)."""

    def __init__(self, path, negotiate=True, timeout=DEFAULT_TIMEOUT):
        if path.startswith("unix:"):
            path = path[5:]
        # A server binds its socket before it listens: the file can exist a
        # moment before connecting works. Retry for a while on "refused".
        deadline = time.monotonic() + 5
        while True:
            try:
                if path.startswith("tcp:"):
                    host, port = path[4:].rsplit(":", 1)
                    self.sock = socket.create_connection((host, int(port)), timeout=timeout)
                else:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.settimeout(timeout)
                    self.sock.connect(path)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.buf = b""
        self.events = []
        self.next_id = 1
        self.greeting = self.recv()
        # QEMU 7.2 can queue an event raised at start-up (RESUME) ahead of
        # the greeting of a client that connected that early: keep it.
        while self.greeting and "event" in self.greeting and "QMP" not in self.greeting:
            self.events.append(self.greeting)
            self.greeting = self.recv()
        check("QMP" in self.greeting, "no greeting: %r" % (self.greeting,))
        if negotiate:
            r = self.execute("qmp_capabilities")
            check(r.get("return") == {}, "qmp_capabilities failed: %r" % (r,))

    def close(self):
        self.sock.close()

    def recv(self, timeout=None):
        """The next message, or None once the server closed the connection."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self.buf += chunk
        finally:
            if timeout is not None:
                self.sock.settimeout(DEFAULT_TIMEOUT)
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip()
        if not line:
            return self.recv(timeout)
        return json.loads(line)

    def send(self, obj, fd=None):
        data = (json.dumps(obj) + "\n").encode()
        if fd is None:
            self.sock.sendall(data)
        else:
            n = self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                            array.array("i", [fd]))])
            if n < len(data):
                self.sock.sendall(data[n:])

    def execute(self, cmd, args=None, fd=None):
        msg = {"execute": cmd, "id": self.next_id}
        self.next_id += 1
        if args is not None:
            msg["arguments"] = args
        self.send(msg, fd)
        while True:
            m = self.recv()
            check(m is not None, "connection closed while waiting for %s" % cmd)
            if "event" in m:
                self.events.append(m)
                continue
            if m.get("id") == msg["id"]:
                return m

    def ok(self, cmd, args=None, fd=None):
        r = self.execute(cmd, args, fd)
        check("return" in r, "%s failed: %r" % (cmd, r))
        return r["return"]

    def error(self, cmd, args=None, fd=None):
        r = self.execute(cmd, args, fd)
        check("error" in r, "%s did not fail: %r" % (cmd, r))
        return r["error"]

    def event(self, timeout=DEFAULT_TIMEOUT):
        """The next event (kept ones first), or None on timeout/close."""
        if self.events:
            return self.events.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                m = self.recv(timeout=left)
            except socket.timeout:
                return None
            if m is None:
                return None
            if "event" in m:
                return m

    def no_event(self, wait=0.2):
        """Assert that no event arrives within wait seconds."""
        ev = self.event(timeout=wait)
        check(ev is None, "unexpected event %r" % (ev,))


def wait_migrate_status(c, want, timeout=30.0):
    """Poll query-migrate on client c until its status is in want (a list);
    returns that reply's MigrationInfo. Fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        info = c.ok("query-migrate")
        if info.get("status") in want:
            return info
        check(time.monotonic() < deadline,
              "status %r not reached (now %r)" % (want, info.get("status")))
        time.sleep(0.02)


def drain_events(c, quiet=0.5):
    """Every event on client c until none came for `quiet` seconds."""
    out = []
    while True:
        ev = c.event(timeout=quiet)
        if ev is None:
            return out
        out.append(ev)


def wait_for_path(path, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise Fail("process exited with %d before creating %s" % (proc.returncode, path))
        if time.monotonic() > deadline:
            raise Fail("%s not created in time" % path)
        time.sleep(0.01)


class Proc:
    """A VM process (vmig-vmm or QEMU) with its QMP sockets in a private
    directory; closes and kills everything on exit."""

    def __init__(self, argv, sockets, tmpdir):
        self.tmpdir = tmpdir
        self.sockets = sockets
        self.stderr_path = os.path.join(tmpdir, "stderr-%d" % len(os.listdir(tmpdir)))
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        for s in sockets:
            if not s.startswith("tcp:"):
                wait_for_path(s, self.proc)

    def client(self, i=0, **kw):
        return Client(self.sockets[i], **kw)

    def wait(self, timeout=10.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("process did not exit in time")

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def tmpdir():
    return tempfile.mkdtemp(prefix="vmig-qmp-")


def start_vmm(vmm, d, nsock=1, extra=(), memory="64M"):
    socks = [os.path.join(d, "qmp%d-%d.sock" % (i, time.monotonic_ns())) for i in range(nsock)]
    argv = [vmm, "--machine", "none", "--memory", memory]
    for s in socks:
        argv += ["--qmp", "unix:" + s]
    argv += list(extra)
    return Proc(argv, socks, d)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ram_file(path, size, random=False):
    """Create path as a RAM file of size bytes: random content, or sparse
    zeros. Returns path."""
    with open(path, "wb") as f:
        if random:
            f.write(os.urandom(size))
        else:
            f.truncate(size)
    return path


def qemu_binary():
    return shutil.which("qemu-system-x86_64")


def start_qemu(d, extra=()):
    sock = os.path.join(d, "qemu-%d.sock" % time.monotonic_ns())
    argv = [qemu_binary(), "-M", "none", "-display", "none", "-nodefaults",
            "-qmp", "unix:%s,server=on,wait=off" % sock] + list(extra)
    return Proc(argv, [sock], d)


# ---- shapes ----------------------------------------------------------------------

def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def shape_diff(want, got, path="$"):
    """Differences in keys and JSON types between two messages (values are
    ignored; array elements are compared with the first element of want)."""
    tw, tg = jtype(want), jtype(got)
    if tw != tg:
        return ["%s: type %s, QEMU has %s" % (path, tg, tw)]
    out = []
    if tw == "object":
        kw, kg = set(want), set(got)
        for k in sorted(kw - kg):
            out.append("%s: missing key %r" % (path, k))
        for k in sorted(kg - kw):
            out.append("%s: extra key %r" % (path, k))
        for k in sorted(kw & kg):
            out += shape_diff(want[k], got[k], "%s.%s" % (path, k))
    elif tw == "array" and want and got:
        for i, g in enumerate(got):
            out += shape_diff(want[0], g, "%s[%d]" % (path, i))
    return out


# ---- the messages the shape tests compare ---------------------------------------------

def collect_messages(start):
    """Drive a fresh VM started by start(extra_args) through the generic
    commands and return {fixture name: message} (whole replies and events)."""
    out = {}
    with start([]) as p:
        c = p.client(negotiate=False)
        out["greeting"] = c.greeting
        c.ok("qmp_capabilities")
        out["query-version"] = c.execute("query-version")
        out["query-status-running"] = c.execute("query-status")
        out["reply-stop"] = c.execute("stop")
        ev = c.event()
        check(ev and ev["event"] == "STOP", "no STOP event: %r" % (ev,))
        out["event-STOP"] = ev
        out["query-status-paused"] = c.execute("query-status")
        c.ok("cont")
        ev = c.event()
        check(ev and ev["event"] == "RESUME", "no RESUME event: %r" % (ev,))
        out["event-RESUME"] = ev
        out["error-closefd"] = c.execute("closefd", {"fdname": "nosuch"})
        out["error-getfd"] = c.execute("getfd", {"fdname": "nofd"})
        out["error-command-not-found"] = c.execute("no-such-command")
        out["reply-quit"] = c.execute("quit")
        ev = c.event()
        check(ev and ev["event"] == "SHUTDOWN", "no SHUTDOWN event: %r" % (ev,))
        out["event-SHUTDOWN"] = ev
        p.wait()
    with start(["-S"]) as p:
        c = p.client()
        out["query-status-prelaunch"] = c.execute("query-status")
        c.ok("quit")
        p.wait()
    return out


# ---- recording QEMU 7.2's fixtures --------------------------------------------------

def record_main(prog, out_default, record, noun):
    """The main() of a fixture recorder: [--out DIR] [--qemu PATH]. Checks
    that the QEMU is 7.2, calls record(qemu, tmpdir) for {name: message} and
    writes each message as DIR/name.json. Exit status: 0 written, 1 failure,
    77 QEMU not installed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=out_default)
    ap.add_argument("--qemu", default=qemu_binary())
    a = ap.parse_args()
    if not a.qemu:
        print("%s: qemu-system-x86_64 not installed" % prog, file=sys.stderr)
        return 77
    ver = subprocess.run([a.qemu, "--version"], capture_output=True, text=True).stdout
    if "version 7.2" not in ver:
        print("%s: %s is not QEMU 7.2: %s" % (prog, a.qemu, ver.splitlines()[0]),
              file=sys.stderr)
        return 1
    d = tmpdir()
    try:
        msgs = record(a.qemu, d)
    except Fail as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(a.out, exist_ok=True)
    for name, msg in sorted(msgs.items()):
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(msg, f, indent=2)
            f.write("\n")
    print("recorded %d %s from %s into %s" % (len(msgs), noun, ver.splitlines()[0], a.out))
    return 0
