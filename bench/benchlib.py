"""benchlib.py - what the migration benchmarks share (bench/precopy.py,
bench/monitor_latency.py): starting vmig-vmm and QEMU 7.2 `-M none` with their
RAM in a /dev/shm file, a small QMP client, one timed live migration over
loopback TCP with its events timestamped, RAM contents, verification, stats,
cleanup that only ever kills the processes this script started (by PID), and
the drivers' common frame: command line, engine lookup, runs with the engines
alternating, report footer and exit status.

Clock: every timestamp is time.perf_counter_ns() (CLOCK_MONOTONIC on Linux),
the same clock in every process, so the pinger's samples and the driver's
event times can be compared.
"""
import argparse
import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

GiB = 1 << 30
MiB = 1 << 20
PAGE = 4096
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UNLIMITED_BW = 100 * GiB      # max-bandwidth, bytes/s: never the limit on loopback


class Fail(Exception):
    """The benchmark cannot go on (one clear line for stderr)."""


class Unsupported(Fail):
    """The engine lacks something the benchmark needs (e.g. `migrate`
    answers CommandNotFound while the migration job is not merged yet)."""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def now_ns():
    return time.perf_counter_ns()


# ---- sizes, stats ---------------------------------------------------------------

def parse_size(s):
    """64M, 1G, 512K, or bytes; returns bytes (multiple of 4 KiB)."""
    s = s.strip()
    mul = {"k": 1 << 10, "m": MiB, "g": GiB, "t": 1 << 40}.get(s[-1:].lower())
    try:
        v = int(s[:-1]) * mul if mul else int(s)
    except ValueError:
        raise ValueError("bad size %r (e.g. 64M, 1G)" % s)
    if v <= 0 or v % PAGE:
        raise ValueError("size %r must be a positive multiple of 4 KiB" % s)
    return v


def size_arg(v):
    if v % GiB == 0:
        return "%dG" % (v // GiB)
    if v % MiB == 0:
        return "%dM" % (v // MiB)
    return "%dK" % (v // 1024)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100) of a list; None if empty."""
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1))
    return xs[k]


def rnd(x, nd=3):
    return None if x is None else round(x, nd)


# ---- processes and files we own -------------------------------------------------

class Reaper:
    """Every process and temp dir this benchmark creates; on exit (normal,
    exception, SIGINT/SIGTERM) kill those PIDs and remove the dirs."""

    def __init__(self):
        self.procs = []
        self.dirs = []
        atexit.register(self.cleanup)
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, self._on_signal)

    def _on_signal(self, signum, frame):
        self.cleanup()
        os._exit(128 + signum)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def tmpdir(self):
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        d = tempfile.mkdtemp(prefix="vmig-bench-", dir=base)
        self.dirs.append(d)
        return d

    def forget(self, p):
        if p in self.procs:
            self.procs.remove(p)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()          # our own child, by PID
                    p.wait(5)
                except Exception:
                    pass
        self.procs = []
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.dirs = []


REAPER = None


def reaper():
    global REAPER
    if REAPER is None:
        REAPER = Reaper()
    return REAPER


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- RAM content ----------------------------------------------------------------

CONTENTS = ("zero", "random", "mixed")


def make_content(path, size, kind, mixed="page"):
    """Write `size` bytes of RAM content to path. random: every page distinct
    (a 64 MiB block of urandom, rotated by a different non-page amount for each
    64 MiB chunk), so a page landing at the wrong offset fails verification.
    mixed: half zero pages, half random; mixed="page" interleaves page by page
    (even pages zero), mixed="2m" by 2 MiB chunks (even chunks zero)."""
    chunk = min(64 * MiB, size)
    base = os.urandom(chunk) if kind != "zero" else None
    zero_chunk = bytes(chunk)
    unit = PAGE if mixed == "page" else 2 * MiB
    zero_unit = bytes(unit)
    with open(path, "wb") as f:
        off = 0
        i = 0
        while off < size:
            n = min(chunk, size - off)
            if kind == "zero":
                data = zero_chunk[:n]
            else:
                k = (8 * (i + 1)) % chunk
                data = base[k:] + base[:k]
                if kind == "mixed":
                    b = bytearray(data)
                    mv = memoryview(b)
                    # global unit index decides: even units are zero
                    first = off // unit
                    for u in range(0, chunk // unit):
                        if (first + u) % 2 == 0:
                            mv[u * unit:(u + 1) * unit] = zero_unit
                    data = bytes(b)
                data = data[:n]
            f.write(data)
            off += n
            i += 1


def file_hash(path):
    """sha256 of a file (to check that a source's RAM file did not change)."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(16 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def make_empty(path, size):
    """A sparse file of the right size: the VM's fresh destination RAM."""
    with open(path, "wb") as f:
        f.truncate(size)


def compare_files(a, b, size):
    """None when the first `size` bytes are equal, else the first differing
    byte offset (page-rounded) as a message."""
    step = 64 * MiB
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while off < size:
            x = fa.read(min(step, size - off))
            y = fb.read(min(step, size - off))
            if x != y:
                if len(x) != len(y):
                    return "destination RAM file is short at offset %#x" % (off + min(len(x), len(y)))
                for p in range(0, len(x), PAGE):
                    if x[p:p + PAGE] != y[p:p + PAGE]:
                        return "RAM differs in the page at offset %#x" % (off + p)
            off += step
    return None


# ---- QMP -------------------------------------------------------------------------

class Qmp:
    """One QMP connection. execute() is blocking; send()/pump() let a select()
    loop watch several connections; events are kept with their arrival time."""

    def __init__(self, path, proc=None, timeout=60.0):
        self.path = path
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if proc is not None and proc.poll() is not None:
                    raise Fail("%s exited with %d before serving QMP" % (proc.args[0], proc.returncode))
                if time.monotonic() > deadline:
                    raise Fail("QMP socket %s never came up" % path)
                time.sleep(0.01)
        self.buf = b""
        self.events = []          # (arrival ns, message)
        self.replies = {}         # id -> (arrival ns, message)
        self.next_id = 1
        g = self.recv_msg()
        # QEMU 7.2 can queue an event raised at start-up ahead of the greeting.
        while g is not None and "event" in g and "QMP" not in g:
            self.events.append((now_ns(), g))
            g = self.recv_msg()
        if g is None or "QMP" not in g:
            raise Fail("no QMP greeting on %s: %r" % (path, g))
        self.ok("qmp_capabilities")

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _take(self, m, t):
        if "event" in m:
            self.events.append((t, m))
        elif "id" in m:
            self.replies[m["id"]] = (t, m)
        return m

    def recv_msg(self):
        while b"\n" not in self.buf:
            c = self.sock.recv(65536)
            if not c:
                return None
            self.buf += c
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip()
        return json.loads(line) if line else self.recv_msg()

    def pump(self):
        """Read what is available (call when select says readable); returns
        False once the peer closed."""
        c = self.sock.recv(1 << 20)
        t = now_ns()
        if not c:
            return False
        self.buf += c
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.strip()
            if line:
                self._take(json.loads(line), t)
        return True

    def send(self, cmd, args=None):
        i = self.next_id
        self.next_id += 1
        msg = {"execute": cmd, "id": i}
        if args is not None:
            msg["arguments"] = args
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        return i

    def execute(self, cmd, args=None):
        i = self.send(cmd, args)
        while i not in self.replies:
            m = self.recv_msg()
            if m is None:
                raise Fail("QMP connection closed while waiting for %s" % cmd)
            self._take(m, now_ns())
        return self.replies.pop(i)[1]

    def ok(self, cmd, args=None):
        r = self.execute(cmd, args)
        if "return" not in r:
            err = r.get("error", {})
            if err.get("class") == "CommandNotFound":
                raise Unsupported("%s: %s" % (cmd, err.get("desc")))
            raise Fail("%s failed: %s" % (cmd, err.get("desc", r)))
        return r["return"]


# ---- the two engines -------------------------------------------------------------

def qemu_binary(path=None):
    if path:
        return path if os.path.exists(path) or shutil.which(path) else None
    return shutil.which("qemu-system-x86_64")


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


class VM:
    """A vmig-vmm or QEMU process with `nqmp` QMP sockets in dir."""

    def __init__(self, engine, binary, d, ram_file, size, nqmp=1, incoming=None, tag="vm",
                 extra=()):
        self.engine = engine
        self.socks = [os.path.join(d, "%s-%d-%d.qmp" % (tag, i, now_ns())) for i in range(nqmp)]
        if engine == "vmig":
            argv = [binary, "--machine", "none", "--memory", size_arg(size),
                    "--memory-file", ram_file, "--prealloc"]
            for s in self.socks:
                argv += ["--qmp", "unix:" + s]
            if incoming:
                argv += ["--incoming", incoming]
            argv += list(extra)
        else:
            argv = [binary, "-nodefaults", "-display", "none",
                    "-accel", "kvm" if kvm_usable() else "tcg",
                    "-object", "memory-backend-file,id=mem,size=%d,mem-path=%s,share=on,prealloc=on"
                    % (size, ram_file),
                    "-M", "none,memory-backend=mem"]
            for s in self.socks:
                argv += ["-qmp", "unix:%s,server=on,wait=off" % s]
            if incoming:
                argv += ["-incoming", incoming]
        self.stderr_path = os.path.join(d, "%s-%d.stderr" % (tag, now_ns()))
        self.stderr = open(self.stderr_path, "wb")
        self.proc = reaper().spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=self.stderr)
        self.qmp = None

    def connect(self, i=0, timeout=60.0):
        return Qmp(self.socks[i], self.proc, timeout)

    def stderr_tail(self, n=400):
        try:
            self.stderr.flush()
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace").strip()[-n:]
        except (OSError, ValueError):
            return ""

    def quit(self, timeout=20.0):
        """`quit`, wait for the exit; kill our process if it lingers."""
        if self.proc.poll() is None and self.qmp is not None:
            try:
                self.qmp.sock.settimeout(5)
                self.qmp.send("quit")
            except OSError:
                pass
        try:
            if self.qmp is None and self.proc.poll() is None:
                self.proc.kill()   # never got a monitor: nothing to ask
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.qmp is not None:
            self.qmp.close()
        self.stderr.close()
        reaper().forget(self.proc)


def set_events(q):
    """Turn on MIGRATION events; False if the engine cannot (then we poll)."""
    r = q.execute("migrate-set-capabilities",
                  {"capabilities": [{"capability": "events", "state": True}]})
    return "return" in r


class Migration:
    """One live migration src -> dst over tcp loopback, timed from the moment
    `migrate` is sent. Watches both monitors: MIGRATION events (or polling
    query-migrate every poll_ms when the engine has no `events` capability),
    the source's STOP, the destination's RESUME (or query-status polling).

    Results (ns, perf_counter clock): t_migrate, t_setup, t_active, t_stop
    (source STOP, or first non-active status), t_src_completed,
    t_dst_completed, t_dst_running; src_info = the source's final
    query-migrate."""

    FAILED = ("failed", "cancelled", "cancelling")

    def __init__(self, engine, binary, d, src_file, dst_file, size, downtime_limit=300,
                 src_qmp=1, poll_ms=2.0, timeout_s=None, setup=None):
        self.engine = engine
        self.binary = binary
        self.d = d
        self.src_file = src_file
        self.dst_file = dst_file
        self.size = size
        self.downtime_limit = downtime_limit
        self.src_qmp = src_qmp
        self.poll_ns = int(poll_ms * 1e6)
        self.timeout_s = timeout_s or (60 + 60 * size / GiB)
        self.src = self.dst = None
        self.t = {}
        self.arrival = {}
        self.src_info = None
        self.dst_status = None
        # setup(src_qmp, dst_qmp): capabilities/parameters for both sides; the
        # destination then starts with -incoming defer and gets
        # migrate-incoming after it (what multifd needs).
        self.setup = setup

    def start(self):
        """Start both VMs, negotiate, set parameters; ready to migrate."""
        # The free port can be taken by someone else before the destination
        # binds it: then start the destination again on another port.
        for attempt in range(3):
            self.port = free_port()
            self.uri = "tcp:127.0.0.1:%d" % self.port
            make_empty(self.dst_file, self.size)
            self.dst = VM(self.engine, self.binary, self.d, self.dst_file, self.size,
                          incoming="defer" if self.setup else self.uri,
                          tag=self.engine + "-dst")
            try:
                self.dst.qmp = self.dst.connect()
                break
            except Fail as e:
                self.dst.quit()
                if attempt == 2 or "in use" not in self.dst.stderr_tail():
                    raise Fail("%s: %s %s" % (self.engine, e, self.dst.stderr_tail()))
        self.src = VM(self.engine, self.binary, self.d, self.src_file, self.size,
                      nqmp=self.src_qmp, tag=self.engine + "-src")
        try:
            self.src.qmp = self.src.connect()
        except Fail as e:
            raise Fail("%s: %s %s" % (self.engine, e, (self.src.stderr_tail() + " " +
                                                      self.dst.stderr_tail()).strip()))
        self.src_events = set_events(self.src.qmp)
        self.dst_events = set_events(self.dst.qmp)
        if self.setup:
            self.setup(self.src.qmp, self.dst.qmp)
            self.dst.qmp.ok("migrate-incoming", {"uri": self.uri})
        self.src.qmp.ok("migrate-set-parameters",
                        {"max-bandwidth": UNLIMITED_BW, "downtime-limit": self.downtime_limit})
        st = self.src.qmp.ok("query-status")
        if st.get("status") != "running":
            raise Fail("%s source is %r, not running" % (self.engine, st.get("status")))

    def _mark(self, key, t, ev=None):
        """Record a boundary once: self.arrival[key] is when the driver saw it,
        self.t[key] the event's own timestamp when it has one (the driver may
        be scheduled late on 2 busy cores), else the arrival."""
        if key not in self.t:
            self.arrival[key] = t
            ts = ev.get("timestamp") if ev else None
            if isinstance(ts, dict) and "seconds" in ts and ts.get("seconds", -1) >= 0:
                te = ts["seconds"] * 10**9 + ts.get("microseconds", 0) * 1000 - self.clock_offset
                # trust it only if it is sane: not after we saw it, not long before migrate
                if te <= t + 10**6 and te >= self.t.get("t_migrate", te) - 10**6:
                    t = min(te, t)
            self.t[key] = t

    def _src_status(self, status, t, ev=None):
        if status == "setup":
            self._mark("t_setup", t, ev)
        elif status == "active":
            self._mark("t_active", t, ev)
        elif status in self.FAILED:
            raise Fail("%s migration %s on the source" % (self.engine, status))
        elif status in ("completed", "device", "pre-switchover"):
            self._mark("t_stop", t, ev)      # left active: stop-and-copy started
            if status == "completed":
                self._mark("t_src_completed", t, ev)

    def _dst_status(self, status, t, ev=None):
        if status in self.FAILED:
            raise Fail("%s migration %s on the destination" % (self.engine, status))
        if status == "completed":
            self._mark("t_dst_completed", t, ev)

    def run(self):
        """Send migrate and watch until the source completed and the
        destination runs. Returns self.t with times relative to t_migrate (ms)."""
        sq, dq = self.src.qmp, self.dst.qmp
        # wall clock (event timestamps) -> perf_counter: the tightest of a few reads
        best = None
        for _ in range(5):
            a = now_ns()
            w = time.time_ns()
            b = now_ns()
            if best is None or b - a < best[0]:
                best = (b - a, w - (a + b) // 2)
        self.clock_offset = best[1]
        t0 = now_ns()
        self.t["t_migrate"] = t0
        mig_id = sq.send("migrate", {"uri": self.uri})
        deadline = t0 + int(self.timeout_s * 1e9)
        next_poll = t0
        pend = {}   # (conn, id) -> kind
        while True:
            done_src = "t_src_completed" in self.t
            done_dst = "t_dst_running" in self.t and ("t_dst_completed" in self.t or not self.dst_events)
            if done_src and done_dst:
                break
            now = now_ns()
            if now > deadline:
                raise Fail("%s migration did not finish within %.0f s (%s)" %
                           (self.engine, self.timeout_s, sorted(self.t)))
            for vm in (self.src, self.dst):
                if vm.proc.poll() is not None:
                    raise Fail("%s %s exited with %d: %s" % (self.engine, "source" if vm is self.src
                               else "destination", vm.proc.returncode, vm.stderr_tail()))
            # polling fallback, one request in flight per kind
            if now >= next_poll:
                next_poll = now + self.poll_ns
                if not self.src_events and not done_src and ("s", "mig") not in pend.values():
                    pend[(sq, sq.send("query-migrate"))] = ("s", "mig")
                if not self.dst_events and "t_dst_completed" not in self.t and \
                        ("d", "mig") not in pend.values():
                    pend[(dq, dq.send("query-migrate"))] = ("d", "mig")
                if "t_dst_running" not in self.t and ("d", "status") not in pend.values() and \
                        not self.dst_events:
                    pend[(dq, dq.send("query-status"))] = ("d", "status")
            wait = max(0, min(next_poll, deadline) - now_ns()) / 1e9
            if self.src_events and self.dst_events:
                wait = min(0.1, max(wait, 0.05))
            r, _, _ = select.select([sq, dq], [], [], min(wait, 0.1))
            for q in r:
                if not q.pump():
                    raise Fail("%s: a monitor connection closed during migration" % self.engine)
            # replies
            if mig_id in sq.replies:
                tr, m = sq.replies.pop(mig_id)
                if "error" in m:
                    if m["error"].get("class") == "CommandNotFound":
                        raise Unsupported("%s: migrate: %s" % (self.engine, m["error"].get("desc")))
                    raise Fail("%s: migrate failed: %s" % (self.engine, m["error"].get("desc")))
                self.t["t_migrate_reply"] = tr
            for key in list(pend):
                q, i = key
                if i in q.replies:
                    tr, m = q.replies.pop(i)
                    side, kind = pend.pop(key)
                    ret = m.get("return", {})
                    if "error" in m:
                        raise Fail("%s: %s failed: %s" % (self.engine, kind, m["error"]))
                    if kind == "mig":
                        (self._src_status if side == "s" else self._dst_status)(ret.get("status"), tr)
                    elif ret.get("status") == "running":
                        self._mark("t_dst_running", tr)
            # events
            for q, side in ((sq, "s"), (dq, "d")):
                while q.events:
                    tr, ev = q.events.pop(0)
                    name = ev.get("event")
                    if name == "MIGRATION":
                        st = ev.get("data", {}).get("status")
                        (self._src_status if side == "s" else self._dst_status)(st, tr, ev)
                    elif name == "STOP" and side == "s":
                        self._mark("t_stop", tr, ev)
                    elif name == "RESUME" and side == "d":
                        self._mark("t_dst_running", tr, ev)
        # drain replies to polls still in flight, then the source's summary
        for (q, i) in list(pend):
            while i not in q.replies:
                m = q.recv_msg()
                if m is None:
                    break
                q._take(m, now_ns())
            q.replies.pop(i, None)
        # QEMU 7.2 sends "completed" a moment before it fills in total-time and
        # downtime (migration_calculate_complete): ask again until they are set
        for _ in range(40):
            self.src_info = sq.ok("query-migrate")
            if self.src_info.get("total-time"):
                break
            time.sleep(0.005)
        if self.dst_events is False:
            self._mark("t_dst_completed", self.arrival["t_dst_running"])
        return self.ms()

    def ms(self, arrival=False):
        """Times relative to t_migrate in ms: event timestamps, or with
        arrival=True when the driver saw each one."""
        t0 = self.t["t_migrate"]
        src = self.arrival if arrival else self.t
        return {k[2:]: (v - t0) / 1e6 for k, v in src.items() if k != "t_migrate"}

    def stop(self):
        for vm in (self.src, self.dst):
            if vm is not None:
                vm.quit()

    def verify(self):
        return compare_files(self.src_file, self.dst_file, self.size)

    def verify_and_remove(self):
        """After stop(): the destination's RAM file must equal the source's
        (Fail otherwise); it is removed either way."""
        bad = self.verify()
        try:
            os.unlink(self.dst_file)
        except OSError:
            pass
        if bad:
            raise Fail("%s: verification failed: %s" % (self.engine, bad))


def timed_migration(engine, binary, d, src_file, size, setup=None):
    """One migration of src_file with setup(src_qmp, dst_qmp) (see
    Migration); the destination's RAM must equal the source's. Returns the
    boundaries in ms (Migration.run)."""
    m = Migration(engine, binary, d, src_file, os.path.join(d, "dst.ram"), size, setup=setup)
    try:
        m.start()
        t = m.run()
    finally:
        m.stop()
    m.verify_and_remove()
    return t


def run_json(argv, timeout=600):
    """Run a helper benchmark with --json; its object, or None (logged)."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("bench: %s: %s" % (argv[0], e))
        return None
    if p.returncode != 0:
        log("bench: %s exited %d: %s" % (argv[0], p.returncode, p.stderr.decode(errors="replace").strip()))
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        log("bench: %s printed no JSON" % argv[0])
        return None


def default_build():
    return os.path.join(REPO, "build")


# ---- the drivers' frame -----------------------------------------------------------

def arg_parser(description, size_help, runs_help):
    """The options every driver takes (--build, --vmm, --qemu, --size, --runs,
    --json, --only, --downtime-limit); the driver adds its own and --smoke,
    then calls finish_args()."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--build", default=default_build(), help="build tree (default: build/)")
    ap.add_argument("--vmm", help="vmig-vmm (default: BUILD/bin/vmig-vmm)")
    ap.add_argument("--qemu", help="qemu-system-x86_64 (default: from PATH)")
    ap.add_argument("--size", default="1G", help=size_help)
    ap.add_argument("--runs", type=int, default=3, help=runs_help)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--only", choices=("vmig", "qemu"), help="run one engine only")
    ap.add_argument("--downtime-limit", type=int, default=300, help="ms, both engines (default 300)")
    return ap


def finish_args(ap, a):
    """a.size_bytes from --size (a usage error when bad), a.vmm's default."""
    try:
        a.size_bytes = parse_size(a.size)
    except ValueError as e:
        ap.error(str(e))
    a.vmm = a.vmm or os.path.join(a.build, "bin", "vmig-vmm")


def find_engines(prog, args):
    """The engines to run (vmig, qemu; as --only allows and as installed):
    (engines, {engine: binary}, notes for the report, why vmig-vmm is
    missing or None). What is missing is logged."""
    engines, notes, vmig_missing = [], [], None
    if args.only != "qemu":
        if os.access(args.vmm, os.X_OK):
            engines.append("vmig")
        else:
            vmig_missing = "vmig-vmm not found at %s (build it, or --vmm PATH)" % args.vmm
            log("%s: %s" % (prog, vmig_missing))
    qemu = None
    if args.only != "vmig":
        qemu = qemu_binary(args.qemu)
        if qemu:
            engines.append("qemu")
        else:
            notes.append("QEMU not found (%s): reporting vmig figures only"
                         % (args.qemu or "qemu-system-x86_64"))
            log("%s: %s" % (prog, notes[-1]))
    return engines, {"vmig": args.vmm, "qemu": qemu}, notes, vmig_missing


def load_average(prog, noisy):
    """The 1-minute load average (rounded), logged when other work runs."""
    load = rnd(os.getloadavg()[0], 2)
    if load > 1.0:
        log("%s: load average %.2f: other work shares the CPUs, %s will be noisy"
            % (prog, load, noisy))
    return load


def alternating_runs(prog, engines, runs, run_one, failures, unsupported, label=""):
    """run_one(engine) `runs` times for each engine, their order alternating
    from run to run. An engine that raises Unsupported is not run again
    (unsupported[engine] = why); a Fail is appended to failures (as
    "LABELengine run N: why"). Yields (engine, run index, result) of each
    run that succeeded."""
    for r in range(runs):
        order = engines if r % 2 == 0 else engines[::-1]
        for e in order:
            if e in unsupported:
                continue
            try:
                x = run_one(e)
            except Unsupported as ex:
                unsupported[e] = str(ex)
                log("%s: %s cannot migrate yet: %s" % (prog, e, ex))
                continue
            except Fail as ex:
                failures.append("%s%s run %d: %s" % (label, e, r + 1, ex))
                log("%s: FAILED %s" % (prog, failures[-1]))
                continue
            yield e, r, x


def print_footer(res):
    """The last lines of a table: load average, failures, what could not migrate."""
    print("load average at start: %.2f%s" % (res["loadavg_1min"], " (other work on the CPUs: noisy)"
                                             if res["loadavg_1min"] > 1.0 else ""))
    for f in res["failures"]:
        print("FAILED: " + f)
    for e, why in res["unsupported"].items():
        print("%s could not migrate: %s" % (e, why))


def report(res, args, failures, unsupported, notes, vmig_missing, print_table):
    """Put failures, unsupported and the notes (if any) into res and print it:
    one JSON object with --json, else print_table(res). Returns the exit
    status: 77 (with --smoke) when vmig-vmm is missing or cannot migrate yet;
    1 when anything failed, could not run or was missing; else 0."""
    res["failures"] = failures
    res["unsupported"] = unsupported
    if notes:
        res["notes"] = notes
    if args.json:
        print(json.dumps(res, sort_keys=True))
    else:
        print_table(res)
    if args.smoke and ("vmig" in unsupported or vmig_missing):
        return 77
    if failures or unsupported or vmig_missing:
        return 1
    return 0


def run_main(prog, main):
    """sys.exit(main(argv)); a Fail that escapes is one line on stderr, exit 1."""
    try:
        sys.exit(main(sys.argv[1:]))
    except Fail as e:
        log("%s: %s" % (prog, e))
        sys.exit(1)
