"""qmp_py.py - what the Python QMP tests share: a small QMP client over a real
socket (greeting, negotiation, commands with ids, events kept aside, a file
descriptor passed with SCM_RIGHTS), starting vmig-vmm or QEMU 7.2 -M none on
private sockets, and comparing the shapes (keys and JSON types) of messages.
"""
import array
import json
import os
import shutil
import socket
import subprocess
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
