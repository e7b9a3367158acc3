"""mig_py.py - what the migration integration tests share: starting vmig-vmm
(or QEMU 7.2 -M none with a file-backed RAM named "mem") on private sockets
with inherited descriptors, RAM files with known content, waiting for a
migration or run state with a deadline, and a main() that bounds every test
in time, cleans up the processes it started (and only those) and maps
outcomes to exit codes 0 (pass), 1 (fail), 77 (skip).
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(_TESTS, "qmp"))
sys.path.insert(0, os.path.join(_TESTS, "interop"))
import qmp_py  # noqa: E402
from qmp_py import Fail, check  # noqa: E402,F401
# Finding QEMU (QEMU=... in the environment), KVM or TCG, and children that
# die with the test: the same as the interop tests'.
from qemu_stream import die_with_parent, kvm_usable, qemu_path  # noqa: E402

SKIP = 77
MiB = 1 << 20
# Fast enough that no test waits on the default 128 MiB/s limit.
FAST_BANDWIDTH = 100 << 30

# Final source states of an outgoing migration.
DONE_STATES = ("completed", "failed", "cancelled")


class Skip(Exception):
    pass


class TimedOut(Fail):
    pass


# ---- processes ---------------------------------------------------------------------

_procs = []  # every VM process this test started, killed at exit


class VM:
    """One VM process (vmig-vmm or QEMU) with one QMP socket in the test's
    directory and a QMP client (self.qmp) once connected."""

    def __init__(self, kind, argv, sock, d, name, pass_fds=()):
        self.kind = kind
        self.name = name
        self.sock = sock
        self.argv = argv
        self.stderr_path = os.path.join(d, "%s.stderr" % name)
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr, pass_fds=tuple(pass_fds),
                                     preexec_fn=die_with_parent)
        _procs.append(self)
        self.qmp = None

    def connect(self, timeout=10.0):
        """Wait for the QMP socket, connect and negotiate."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None:
                raise Fail("%s exited with %d before serving QMP: %s" %
                           (self.name, self.proc.returncode, self.stderr_text()))
            if time.monotonic() > deadline:
                raise TimedOut("%s: QMP socket not created in time" % self.name)
            time.sleep(0.01)
        self.qmp = qmp_py.Client(self.sock)
        return self

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace").strip()

    def exited(self):
        return self.proc.poll() is not None

    def wait_exit(self, timeout=15.0):
        """The exit status, or Fail if the process is still there at the deadline."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimedOut("%s did not exit within %gs" % (self.name, timeout))

    def quit(self, timeout=15.0):
        """QMP quit and wait: the exit status must be 0."""
        self.qmp.ok("quit")
        rc = self.wait_exit(timeout)
        check(rc == 0, "%s: exit status %d after quit: %s" % (self.name, rc, self.stderr_text()))

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)  # if a test had stopped it
            except ProcessLookupError:
                pass
            self.proc.kill()
            self.proc.wait()
        if self.qmp:
            self.qmp.close()
        self.stderr.close()

    # -- QMP shorthands --
    def ok(self, cmd, args=None, fd=None):
        return self.qmp.ok(cmd, args, fd)

    def execute(self, cmd, args=None, fd=None):
        return self.qmp.execute(cmd, args, fd)

    def runstate(self):
        return self.ok("query-status")["status"]

    def mig(self):
        return self.ok("query-migrate")

    def set_caps(self, **caps):
        """set_caps(events=True, return_path=True): names with '_' for '-'."""
        lst = [{"capability": k.replace("_", "-"), "state": bool(v)} for k, v in caps.items()]
        self.ok("migrate-set-capabilities", {"capabilities": lst})

    def set_params(self, **params):
        self.ok("migrate-set-parameters", {k.replace("_", "-"): v for k, v in params.items()})


def kill_all():
    while _procs:
        _procs.pop().kill()


def vmm_argv(vmm, sock, memory, ram_file=None, incoming=None, extra=()):
    argv = [vmm, "--machine", "none", "--memory", memory, "--qmp", "unix:" + sock]
    if ram_file:
        argv += ["--memory-file", ram_file]
    if incoming:
        argv += ["--incoming", incoming]
    return argv + list(extra)


def start_vmm(a, d, name, memory="64M", ram_file=None, incoming=None, extra=(), pass_fds=(),
              connect=True):
    """vmig-vmm --machine none; connected unless connect=False."""
    sock = os.path.join(d, "%s.qmp" % name)
    vm = VM("vmig", vmm_argv(a.vmm, sock, memory, ram_file, incoming, extra), sock, d, name,
            pass_fds)
    return vm.connect() if connect else vm


def require_qemu():
    if not qemu_path():
        raise Skip("qemu-system-x86_64 not found")


def start_qemu(d, name, memory, ram_file, incoming=None, extra=(), connect=True):
    """QEMU 7.2 -M none with the RAM backend "mem" in ram_file (shared), the
    machine vmig-vmm --machine none migrates to and from."""
    sock = os.path.join(d, "%s.qmp" % name)
    argv = [qemu_path(), "-nodefaults", "-display", "none",
            "-accel", "kvm" if kvm_usable() else "tcg",
            "-object", "memory-backend-file,id=mem,size=%s,mem-path=%s,share=on" %
            (memory, ram_file),
            "-M", "none,memory-backend=mem",
            "-qmp", "unix:%s,server=on,wait=off" % sock]
    if incoming:
        argv += ["-incoming", incoming]
    vm = VM("qemu", argv + list(extra), sock, d, name)
    return vm.connect() if connect else vm


# ---- RAM files ------------------------------------------------------------------------

def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1] in units:
        return int(s[:-1]) * units[s[-1]]
    return int(s) * MiB


def make_ram(path, memory, content="random"):
    """Create path with the size of memory ("64M") and content "random",
    "zero" or a byte value (int) repeated; returns its sha256."""
    size = parse_size(memory)
    h = hashlib.sha256()
    chunk = 4 * MiB
    with open(path, "wb") as f:
        for _ in range(size // chunk):
            if content == "random":
                b = os.urandom(chunk)
            elif content == "zero":
                b = bytes(chunk)
            else:
                b = bytes([content]) * chunk
            h.update(b)
            f.write(b)
    return h.hexdigest()


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_same_ram(a_path, b_path, what):
    check(os.path.getsize(a_path) == os.path.getsize(b_path),
          "%s: sizes differ: %d vs %d" % (what, os.path.getsize(a_path), os.path.getsize(b_path)))
    pos = first_difference(a_path, b_path)
    check(pos is None, "%s: RAM differs from byte %s (page %s)" %
          (what, pos, None if pos is None else pos // 4096))


def first_difference(a_path, b_path):
    """Offset of the first differing byte, None when equal."""
    with open(a_path, "rb") as fa, open(b_path, "rb") as fb:
        off = 0
        while True:
            ba, bb = fa.read(MiB), fb.read(MiB)
            if ba != bb:
                for i in range(min(len(ba), len(bb))):
                    if ba[i] != bb[i]:
                        return off + i
                return off + min(len(ba), len(bb))
            if not ba:
                return None
            off += len(ba)


# ---- waiting ---------------------------------------------------------------------------

def wait_until(what, fn, timeout, interval=0.02):
    """Poll fn() until it returns a true value (returned); Fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimedOut("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_mig(vm, want, timeout=60.0, allow_failed=False):
    """Poll query-migrate until its status is in want (a name or a tuple);
    a failure or cancel not asked for ends the wait with Fail at once.
    Returns the whole MigrationInfo."""
    if isinstance(want, str):
        want = (want,)
    last = [None]

    def probe():
        info = vm.mig()
        st = info.get("status")
        last[0] = info
        if st in want:
            return info
        if st in ("failed", "cancelled") and not allow_failed:
            raise Fail("%s: migration %s, not %s: %s" % (vm.name, st, "/".join(want),
                                                          json.dumps(info)))
        return None
    try:
        return wait_until("%s migration status %s" % (vm.name, "/".join(want)), probe, timeout)
    except TimedOut as e:
        raise TimedOut("%s (last: %s)" % (e, json.dumps(last[0])))


def wait_runstate(vm, want, timeout=30.0):
    if isinstance(want, str):
        want = (want,)
    last = [None]

    def probe():
        last[0] = vm.runstate()
        return last[0] in want
    try:
        wait_until("%s run state %s" % (vm.name, "/".join(want)), probe, timeout)
    except TimedOut as e:
        raise TimedOut("%s (last: %s)" % (e, last[0]))


def wait_transferred(vm, nbytes, timeout=30.0):
    """Wait until the source's query-migrate says at least nbytes of RAM went out."""
    def probe():
        info = vm.mig()
        check(info.get("status") not in ("failed", "cancelled", "completed"),
              "%s: migration ended early: %s" % (vm.name, json.dumps(info)))
        return info.get("ram", {}).get("transferred", 0) >= nbytes
    wait_until("%s to send %d bytes" % (vm.name, nbytes), probe, timeout)


def migrate(vm, uri, fast=True):
    if fast:
        vm.set_params(max_bandwidth=FAST_BANDWIDTH)
    r = vm.ok("migrate", {"uri": uri})
    check(r == {}, "migrate reply %r" % (r,))


# Migrating a guest under --workload random-writes --dirty-rate
# XBZRLE_DIRTY_RATE so that XBZRLE has work: 32 MiB/s makes the first pass of
# 64 MiB last about 2 s, during which the workload (16384 8-byte writes a
# second) dirties most pages. Pass 2 resends them as normal pages (cache
# misses, now cached) and leaves far more dirty than the downtime allows, so
# pass 3 has cache hits. The workload alone outruns 32 MiB/s of plain pages:
# once hits are counted (or after XBZRLE_PASSES passes without any, a
# failure) the bandwidth is raised so that the migration ends however well
# XBZRLE compresses.
XBZRLE_BANDWIDTH = 32 << 20
XBZRLE_DIRTY_RATE = "64"
XBZRLE_PASSES = 8


def migrate_until_xbzrle_hits(src, uri, timeout=90):
    """migrate src (xbzrle on, dirtying) to uri slowly until the source
    counts XBZRLE cache hits (or completes), then at full speed."""
    src.set_params(max_bandwidth=XBZRLE_BANDWIDTH)
    migrate(src, uri, fast=False)

    def hits_or_passes():
        info = src.mig()
        st = info.get("status")
        check(st in ("setup", "active", "completed"), "%s: migration %s: %s" %
              (src.name, st, json.dumps(info)))
        passes = info.get("ram", {}).get("dirty-sync-count", 0)
        hits = info.get("xbzrle-cache", {}).get("pages", 0)
        check(hits > 0 or st == "completed" or passes < XBZRLE_PASSES,
              "%s: no XBZRLE cache hit after %d passes: %s" % (src.name, passes,
                                                               json.dumps(info)))
        return hits > 0 or st == "completed"
    wait_until("%s to count XBZRLE cache hits" % src.name, hits_or_passes, timeout, 0.1)
    src.set_params(max_bandwidth=FAST_BANDWIDTH)


def migration_states(evs):
    return [e["data"]["status"] for e in evs if e["event"] == "MIGRATION"]


def wait_event_status(vm, status, timeout=30.0, seen=None):
    """Read events until MIGRATION {status}; returns the events read (also
    appended to seen)."""
    got = [] if seen is None else seen
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "%s: no MIGRATION %s event within %gs (events: %s)" %
              (vm.name, status, timeout, [(e["event"], e.get("data")) for e in got]))
        ev = vm.qmp.event(timeout=min(left, 1.0))
        if ev is None:
            # A timeout, or the connection closed because the process left.
            if vm.proc.poll() is not None:
                raise Fail("%s exited with %d while waiting for MIGRATION %s: %s" %
                           (vm.name, vm.proc.returncode, status, vm.stderr_text()))
            continue
        got.append(ev)
        if ev["event"] == "MIGRATION" and ev["data"]["status"] == status:
            return got


def tcp_uri():
    return "tcp:127.0.0.1:%d" % qmp_py.free_port()


def check_failed_load(vm, *needles, timeout=30.0):
    """A vmig-vmm destination whose load failed: exit 1, QEMU's line on stderr
    (with each needle in it)."""
    rc = vm.wait_exit(timeout)
    err = vm.stderr_text()
    check(rc == 1, "%s: exit status %d after a failed load, want 1 (stderr: %r)" %
          (vm.name, rc, err))
    check("load of migration failed" in err,
          "%s: no 'load of migration failed' on stderr: %r" % (vm.name, err))
    for n in needles:
        check(n in err, "%s: %r not in stderr: %r" % (vm.name, n, err))


# ---- main ---------------------------------------------------------------------------------

def tmpdir():
    """A private directory, on tmpfs when there is one (RAM files are big and
    short-lived)."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="vmig-mig-", dir=base)


def _on_alarm(signum, frame):
    raise TimedOut("test time limit reached")


def main(prog, cases, doc, limit=240, need_vmig=False):
    """Run one case: prog CASE --vmm PATH [--vmig PATH]. The case function
    gets (args, tmpdir). Exit 0 pass, 1 fail, 77 skip."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(cases))
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--vmig", required=need_vmig)
    a = ap.parse_args()
    d = tmpdir()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(limit)
    t0 = time.monotonic()
    try:
        cases[a.case](a, d)
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except (Fail, OSError, subprocess.SubprocessError, ValueError, KeyError,
            TypeError) as e:
        print("%s %s: FAIL: %s: %s" % (prog, a.case, type(e).__name__, e), file=sys.stderr)
        for vm in _procs:
            err = vm.stderr_text() if not vm.stderr.closed else ""
            if err:
                print("--- %s stderr:\n%s" % (vm.name, err[-4000:]), file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        kill_all()
        shutil.rmtree(d, ignore_errors=True)
    print("%s %s: ok (%.1fs)" % (prog, a.case, time.monotonic() - t0))
    return 0
