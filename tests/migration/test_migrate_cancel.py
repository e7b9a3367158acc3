#!/usr/bin/env python3
"""test_migrate_cancel.py - migrate_cancel in each phase of an outgoing
migration and failures of the destination, between vmig-vmm processes. After
each: the source reports cancelled (or failed with an error-desc), its VM runs
again and, with the idle workload, its RAM file is byte-identical to what it
was before (64 MiB of random content). The MIGRATION events (capability
events) show where the cancel landed.

  test_migrate_cancel.py CASE --vmm PATH
CASE:
  cancel-setup          a listener whose accept queue is full: the connect
                        stalls and the job stays in setup; cancel there. Then a
                        destination that accepts the connection and never
                        reads: the source is stuck writing (active), cancel
                        frees it at once
  cancel-active         --workload random-writes and max-bandwidth 4 MiB/s keep
                        the migration active; cancel; the workload runs on (run
                        state only: its writes make a RAM compare meaningless);
                        the destination's load fails (exit 1)
  cancel-pre-switchover pause-before-switchover: cancel in pre-switchover (VM
                        stopped, finish-migrate) restarts the VM; a second
                        migration of the same source then completes
  cancel-device         pause-before-switchover and return-path, destination
                        frozen (SIGSTOP) so the source waits in "device" for its
                        answer after migrate-continue; cancel there
  fail-dest-killed      destination SIGKILLed mid-stream: failed + error-desc,
                        VM running, RAM intact; migrating again then works
  fail-dest-refuses     destination with 128 MiB of RAM refuses the 64 MiB
                        stream (Length mismatch, exit 1, its RAM untouched);
                        the source fails and runs on
  fail-connect          nothing listens: failed with an error-desc
Exit status: 0 pass, 1 fail.
"""
import json
import os
import select
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import check  # noqa: E402

MEM = "64M"
WORKLOAD = ["--workload", "random-writes", "--dirty-rate", "32"]


def source(a, d, extra=(), name="src"):
    """A running source with random RAM and events on; returns (vm, ram path, hash)."""
    ram = os.path.join(d, "%s.ram" % name)
    h = M.make_ram(ram, MEM, "random")
    vm = M.start_vmm(a, d, name, MEM, ram, extra=extra)
    vm.set_caps(events=True)
    return vm, ram, h


def destination(a, d, name="dst", memory=MEM, incoming=None, caps=None):
    ram = os.path.join(d, "%s.ram" % name)
    h = M.make_ram(ram, memory, 0xA5)
    if caps:
        vm = M.start_vmm(a, d, name, memory, ram, incoming="defer")
        vm.set_caps(**caps)
        vm.ok("migrate-incoming", {"uri": incoming})
    else:
        vm = M.start_vmm(a, d, name, memory, ram, incoming=incoming)
    return vm, ram, h


def expect_end(src, status, seen=None):
    """Wait for the source's final status (cancelled or failed); returns its
    MIGRATION event states and its query-migrate."""
    evs = M.wait_event_status(src, status, timeout=30, seen=seen)
    info = M.wait_mig(src, status, timeout=10, allow_failed=True)
    states = M.migration_states(evs)
    check("completed" not in states, "completed although %s: %s" % (status, states))
    if status == "failed":
        check(info.get("error-desc"), "failed without error-desc: %s" % json.dumps(info))
    if status == "cancelled":
        check(states[-2:] == ["cancelling", "cancelled"],
              "MIGRATION events do not end with cancelling, cancelled: %s" % states)
    return states, info


def intact(src, ram, h, what):
    """The source VM runs again and its (idle) RAM is unchanged."""
    M.wait_runstate(src, "running", timeout=10)
    check(M.file_hash(ram) == h, "%s: the source RAM changed" % what)


def migrate_again(a, d, src, ram):
    """A new destination: a full migration of the same source now works."""
    uri = M.tcp_uri()
    dst, dram, _ = destination(a, d, name="dst2", incoming=uri)
    src.set_caps(pause_before_switchover=False, return_path=False)
    M.migrate(src, uri)
    M.wait_mig(src, "completed")
    M.wait_runstate(dst, "running")
    M.check_same_ram(ram, dram, "second migration")
    dst.quit()


def full_listener():
    """A tcp listener whose accept queue is full: a further connect stalls
    (Linux drops the SYN), so a migration to it stays in setup. Returns the
    listener and the filler sockets (keep them open)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    fillers = []
    for _ in range(16):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(lsock.getsockname())
        fillers.append(c)
        _, w, _ = select.select([], [c], [], 0.3)
        if not w:
            return lsock, fillers
    raise M.Fail("could not fill the accept queue of a listener")


def case_cancel_setup(a, d):
    src, ram, h = source(a, d)
    src.set_params(max_bandwidth=M.FAST_BANDWIDTH)
    # 1. The connection cannot be made: the job waits in setup.
    lsock, fillers = full_listener()
    M.migrate(src, "tcp:127.0.0.1:%d" % lsock.getsockname()[1])
    time.sleep(0.5)
    check(src.mig()["status"] == "setup", "status while connecting %r" % src.mig())
    check(src.runstate() == "running", "run state in setup %r" % src.runstate())
    src.ok("migrate_cancel")
    states, _ = expect_end(src, "cancelled")
    check(states == ["setup", "cancelling", "cancelled"], "events %s" % states)
    intact(src, ram, h, "cancel in setup")
    for c in fillers:
        c.close()
    lsock.close()
    # 2. The peer accepts and never reads: stuck in a write, cancel frees it.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    M.migrate(src, "tcp:127.0.0.1:%d" % lsock.getsockname()[1])
    conn, _ = lsock.accept()
    M.wait_until("the source to fill the socket", lambda: src.mig().get("ram", {}).get(
        "transferred", 0) > 1 << 20, 20)
    t = src.mig()["ram"]["transferred"]
    time.sleep(0.3)
    info = src.mig()
    check(info["status"] == "active", "status while blocked %r" % info)
    check(info["ram"]["transferred"] - t < 4 << 20, "the source goes on sending: %r" % info)
    t0 = time.monotonic()
    src.ok("migrate_cancel")
    states, _ = expect_end(src, "cancelled")
    check(time.monotonic() - t0 < 5, "cancel of a blocked write took %.1fs" %
          (time.monotonic() - t0))
    check(states == ["setup", "active", "cancelling", "cancelled"], "events %s" % states)
    intact(src, ram, h, "cancel while blocked")
    conn.close()
    lsock.close()
    src.quit()


def case_cancel_active(a, d):
    uri = M.tcp_uri()
    dst, _, _ = destination(a, d, incoming=uri)
    src, ram, _ = source(a, d, extra=WORKLOAD)
    src.set_params(max_bandwidth=4 << 20)
    r = src.ok("migrate", {"uri": uri})
    check(r == {}, "migrate %r" % r)
    M.wait_transferred(src, 1 << 20)
    check(src.mig()["status"] == "active", "status %r" % src.mig())
    check(src.runstate() == "running", "run state during active: %r" % src.runstate())
    src.ok("migrate_cancel")
    states, _ = expect_end(src, "cancelled")
    check(states == ["setup", "active", "cancelling", "cancelled"], "events %s" % states)
    M.wait_runstate(src, "running", timeout=10)
    # The workload still writes: the RAM keeps changing.
    h = M.file_hash(ram)
    M.wait_until("the workload to write after the cancel", lambda: M.file_hash(ram) != h, 10,
                 0.05)
    M.check_failed_load(dst)
    src.quit()


def case_cancel_pre_switchover(a, d):
    uri = M.tcp_uri()
    dst, _, _ = destination(a, d, incoming=uri)
    src, ram, h = source(a, d)
    src.set_caps(pause_before_switchover=True)
    M.migrate(src, uri)
    seen = []
    M.wait_event_status(src, "pre-switchover", timeout=60, seen=seen)
    check(src.mig()["status"] == "pre-switchover", "status %r" % src.mig())
    check(src.runstate() == "finish-migrate", "run state in pre-switchover %r" % src.runstate())
    check(any(e["event"] == "STOP" for e in seen), "no STOP before pre-switchover")
    src.ok("migrate_cancel")
    states, _ = expect_end(src, "cancelled", seen=seen)
    check(states == ["setup", "active", "pre-switchover", "cancelling", "cancelled"],
          "events %s" % states)
    intact(src, ram, h, "cancel in pre-switchover")
    M.check_failed_load(dst)
    migrate_again(a, d, src, ram)
    src.quit()


def case_cancel_device(a, d):
    uri = M.tcp_uri()
    dst, _, _ = destination(a, d, incoming=uri, caps={"return_path": True})
    src, ram, h = source(a, d)
    src.set_caps(pause_before_switchover=True, return_path=True)
    M.migrate(src, uri)
    seen = []
    M.wait_event_status(src, "pre-switchover", timeout=60, seen=seen)
    # Frozen, the destination cannot answer on the return path: the source
    # sends the rest and waits in "device".
    dst.proc.send_signal(signal.SIGSTOP)
    try:
        src.ok("migrate-continue", {"state": "pre-switchover"})
        M.wait_event_status(src, "device", timeout=10, seen=seen)
        time.sleep(0.3)
        check(src.mig()["status"] == "device", "status after migrate-continue %r" % src.mig())
        check(src.runstate() == "finish-migrate", "run state in device %r" % src.runstate())
        src.ok("migrate_cancel")
        states, _ = expect_end(src, "cancelled", seen=seen)
    finally:
        dst.proc.send_signal(signal.SIGCONT)
    check(states == ["setup", "active", "pre-switchover", "device", "cancelling", "cancelled"],
          "events %s" % states)
    intact(src, ram, h, "cancel in device")
    dst.kill()  # it may or may not have loaded everything: not this test's matter
    src.quit()


def case_fail_dest_killed(a, d):
    uri = M.tcp_uri()
    dst, _, _ = destination(a, d, incoming=uri)
    src, ram, h = source(a, d)
    src.set_params(max_bandwidth=8 << 20)
    check(src.ok("migrate", {"uri": uri}) == {}, "migrate")
    M.wait_transferred(src, 2 << 20)
    dst.proc.kill()
    dst.proc.wait()
    states, info = expect_end(src, "failed")
    check(states == ["setup", "active", "failed"], "events %s" % states)
    print("destination killed: %s" % info["error-desc"])
    intact(src, ram, h, "destination killed")
    migrate_again(a, d, src, ram)
    src.quit()


def case_fail_dest_refuses(a, d):
    uri = M.tcp_uri()
    dst, dram, dh = destination(a, d, memory="128M", incoming=uri)
    src, ram, h = source(a, d)
    M.migrate(src, uri)
    states, info = expect_end(src, "failed")
    print("destination refused: %s" % info["error-desc"])
    intact(src, ram, h, "destination refused")
    M.check_failed_load(dst, "Length mismatch")
    check(os.path.getsize(dram) == 128 << 20, "destination RAM file size changed")
    check(M.file_hash(dram) == dh, "the refusing destination's RAM changed")
    src.quit()


def case_fail_connect(a, d):
    src, ram, h = source(a, d)
    r = src.execute("migrate", {"uri": M.tcp_uri()})
    if "error" in r:
        check(r["error"]["desc"], "empty error %r" % r)
    else:
        states, info = expect_end(src, "failed")
        check(states == ["setup", "failed"], "events %s" % states)
        print("nothing listening: %s" % info["error-desc"])
    intact(src, ram, h, "connection refused")
    src.quit()


CASES = {
    "cancel-setup": case_cancel_setup,
    "cancel-active": case_cancel_active,
    "cancel-pre-switchover": case_cancel_pre_switchover,
    "cancel-device": case_cancel_device,
    "fail-dest-killed": case_fail_dest_killed,
    "fail-dest-refuses": case_fail_dest_refuses,
    "fail-connect": case_fail_connect,
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_cancel", CASES, __doc__, limit=200))
