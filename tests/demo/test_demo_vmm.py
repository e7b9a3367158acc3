#!/usr/bin/env python3
"""test_demo_vmm.py - vmig-vmm --machine demo migrating to vmig-vmm, with the
simulated vCPU (always) and the KVM guest (skipped with 77 without a usable
/dev/kvm), under the `pattern` workload: the vCPU walks guest RAM adding 1
to the first byte of every page above page 0 (the guest's code and stack)
and writes one byte to its serial port ('0' + passes % 10) after each pass.

  test_demo_vmm.py CASE --vmm PATH
  CASE: sim-tcp sim-unix kvm-tcp kvm-unix sim-auto-converge kvm-auto-converge

Migration cases: the destination starts -S; after completion its RAM file
equals the frozen (postmigrate) source's, the page counters form a single
running walk, and after `cont` the destination's serial file grows, its
first byte following the source's last one (the vCPU state travelled) and
the walk is still a single one (it went on where it stopped).

Auto-converge cases: a 32 MiB guest walking at 64 MiB/s against a 16 MiB/s
max-bandwidth does not converge within 10 s without auto-converge (still
active) and does with it. The walk is paced rather than unbounded: a walker
as fast as the host allows (GiB/s) still dirties all RAM in the 1 % of time
the highest throttle leaves it, so no throttle could make it converge.
"""
import fcntl
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migration"))
import mig_py as M  # noqa: E402
from mig_py import Fail, check  # noqa: E402

PAGE = 4096
MEM = "32M"
# Four passes a second over MEM: the serial file grows visibly, the
# migration converges without help at loopback speed.
WALK_RATE = "128"
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01


def kvm_works():
    """/dev/kvm opens, speaks API 12 and creates a VM."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION, 0) != 12:
            return False
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def need_accel(accel):
    if accel == "kvm" and not kvm_works():
        raise M.Skip("/dev/kvm not available")


def start_demo(a, d, name, accel, extra=(), incoming=None):
    """vmig-vmm --machine demo with RAM in d/name.ram and serial in d/name.ser."""
    sock = os.path.join(d, "%s.qmp" % name)
    argv = [a.vmm, "--machine", "demo", "--accel", accel, "--memory", MEM,
            "--memory-file", os.path.join(d, "%s.ram" % name),
            "--serial", os.path.join(d, "%s.ser" % name), "--qmp", "unix:" + sock]
    if incoming:
        argv += ["--incoming", incoming]
    return M.VM("vmig", argv + list(extra), sock, d, name).connect()


def serial(d, name):
    p = os.path.join(d, "%s.ser" % name)
    if not os.path.exists(p):
        return b""
    with open(p, "rb") as f:
        return f.read()


def counters(path):
    with open(path, "rb") as f:
        data = f.read()
    return data[PAGE::PAGE]  # page 0 holds the guest's code and stack


def check_walk(path, what):
    """Every walked page's counter is c+1 (already passed) then c (not yet),
    mod 256, in page order: one walk, one boundary at most. Returns c."""
    v = counters(path)
    last = v[-1]
    i = 0
    while i < len(v) and v[i] == (last + 1) % 256:
        i += 1
    bad = next((j for j in range(i, len(v)) if v[j] != last), None)
    if bad is not None:
        raise Fail("%s: not a single running walk: %d pages at %d, then %d until page %d "
                   "which holds %d" % (what, i, (last + 1) % 256, last, bad + 1, v[bad]))
    return last


def check_walked(path, what):
    v = counters(path)
    check(any(v), "%s: the walk never started (all counters 0)" % what)


def migrate_case(accel, transport):
    def run(a, d):
        need_accel(accel)
        uri = M.tcp_uri() if transport == "tcp" else "unix:" + os.path.join(d, "mig.sock")
        dst = start_demo(a, d, "dst", accel, ["-S"], incoming=uri)
        src = start_demo(a, d, "src", accel, ["--dirty-rate", WALK_RATE])
        check(src.runstate() == "running", "source state %r" % src.runstate())
        M.wait_until("two passes on the source's serial port", lambda: len(serial(d, "src")) >= 2,
                     20)
        src.set_caps(events=True)
        M.migrate(src, uri)
        info = M.wait_mig(src, "completed", timeout=60)
        M.wait_mig(dst, "completed", timeout=30)
        M.wait_runstate(src, "postmigrate")
        M.wait_runstate(dst, "paused")
        src_ram, dst_ram = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
        # The source is frozen: its RAM and serial output no longer change.
        src_ser = serial(d, "src")
        time.sleep(0.3)
        check(serial(d, "src") == src_ser, "source serial output grew after completion")
        M.check_same_ram(src_ram, dst_ram, "destination after completion")
        check_walked(dst_ram, "destination")
        c = check_walk(dst_ram, "destination after completion")
        check(serial(d, "dst") == b"", "paused destination wrote to its serial port")
        print("%s over %s: %d ms, %d syncs, %d passes done, counters at %d/%d" %
              (accel, transport, info["total-time"], info["ram"]["dirty-sync-count"],
               len(src_ser), (c + 1) % 256, c))
        before = counters(dst_ram)
        dst.ok("cont")
        M.wait_runstate(dst, "running")
        M.wait_until("the destination's serial file to grow",
                     lambda: len(serial(d, "dst")) >= 2, 20)
        check(counters(dst_ram) != before, "destination counters did not advance")
        # The pass count travelled: the destination's first byte follows
        # the source's last one.
        want = ord("0") + (src_ser[-1] - ord("0") + 1) % 10
        check(serial(d, "dst")[0] == want, "destination serial starts with %r after the "
              "source's %r" % (serial(d, "dst")[:1], src_ser[-1:]))
        # And so did the position: stopped again, still one walk.
        dst.ok("stop")
        check_walk(dst_ram, "destination after running on")
        dst.quit()
        src.quit()
    return run


def auto_converge_case(accel):
    def run(a, d):
        need_accel(accel)

        def attempt(name, ac):
            uri = M.tcp_uri()
            dst = start_demo(a, d, "dst-" + name, accel, incoming=uri)
            src = start_demo(a, d, "src-" + name, accel, ["--dirty-rate", "64"])
            # One whole pass first: no zero page left to send for free.
            M.wait_until("a pass on the source", lambda: serial(d, "src-" + name), 20)
            src.set_caps(auto_converge=ac)
            src.set_params(max_bandwidth=16 << 20, cpu_throttle_initial=50,
                           cpu_throttle_increment=20)
            check(src.ok("migrate", {"uri": uri}) == {}, "migrate")
            return src, dst

        src, dst = attempt("plain", False)
        time.sleep(10)
        info = src.mig()
        check(info["status"] == "active", "without auto-converge: %s after 10 s, want active"
              % info["status"])
        check("cpu-throttle-percentage" not in info or info["cpu-throttle-percentage"] == 0,
              "throttled without auto-converge: %r" % info)
        print("without auto-converge: still active after 10 s, %d syncs" %
              info["ram"]["dirty-sync-count"])
        src.ok("migrate_cancel")
        M.wait_mig(src, "cancelled", allow_failed=True)
        src.quit()
        dst.kill()

        src, dst = attempt("ac", True)
        throttled = M.wait_until("the source to throttle",
                                 lambda: src.mig().get("cpu-throttle-percentage"), 60, 0.1)
        info = M.wait_mig(src, "completed", timeout=90)
        print("with auto-converge: throttled to %d%% and more, completed after %d ms, %d syncs"
              % (throttled, info["total-time"], info["ram"]["dirty-sync-count"]))
        M.wait_mig(dst, "completed", timeout=30)
        M.wait_runstate(dst, "running")
        # The destination runs the walk on, unthrottled.
        n = len(serial(d, "dst-ac"))
        M.wait_until("the destination's serial file to grow",
                     lambda: len(serial(d, "dst-ac")) > n, 20)
        dst.quit()
        src.quit()
    return run


CASES = {
    "sim-tcp": migrate_case("sim", "tcp"),
    "sim-unix": migrate_case("sim", "unix"),
    "kvm-tcp": migrate_case("kvm", "tcp"),
    "kvm-unix": migrate_case("kvm", "unix"),
    "sim-auto-converge": auto_converge_case("sim"),
    "kvm-auto-converge": auto_converge_case("kvm"),
}

if __name__ == "__main__":
    sys.exit(M.main("test_demo_vmm.py", CASES, __doc__))
