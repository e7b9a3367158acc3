#!/usr/bin/env python3
"""test_migrate_uris.py - vmig-vmm to vmig-vmm migrations over every URI kind,
RAM compared byte for byte (64 MiB of random content; the destination starts
with other content).

  test_migrate_uris.py CASE --vmm PATH
CASE:
  tcp          --incoming tcp:127.0.0.1:PORT; source running -> destination
               running, source postmigrate; both sides report completed
  unix         --incoming unix:PATH, the same checks
  exec         source exec:cat > F, then a destination --incoming exec:cat F
  file         source file:F, destination --incoming file:F (a stopped source:
               destination ends paused)
  fd           source fd:NAME (one end of a socketpair given with getfd),
               destination --incoming fd:N (the other end, inherited), the
               name consumed by migrate; then the same with a pipe and a
               stopped source
  stopped      source stopped before migrate: destination ends paused
  dest-paused  destination -S with a workload: stays paused after the
               migration although the source ran, its workload writes nothing
               (RAM equal to the source's) until `cont`
  workload     --workload random-writes (3 threads, --prealloc): no write in
               prelaunch or while stopped, writes after each cont; SIGTERM
               while writing exits 0
  auto-converge  64 MiB/s of dirtying against max-bandwidth 32 MiB/s: only
               auto-converge (the vmm's throttle of its threads) lets it
               complete; RAM equal afterwards
  defer        --incoming defer, capabilities set on the destination, then
               migrate-incoming; a second migrate-incoming is refused
  events       capability events on both sides: the MIGRATION sequence
               setup, active, completed on each side, MIGRATION_PASS from 1,
               STOP on the source and RESUME on the destination
  return-path  return-path on both sides over tcp completes; on exec: and
               file: the migration fails with an error naming the return path,
               the source keeps running with its RAM intact
  live         the source runs --workload random-writes (2 threads) during the
               migration: the destination still gets exactly the source's final
               RAM (what the dirty log missed would show)
  postmigrate  a completed source refuses a second migrate (QEMU's text) and
               still quits with 0
Exit status: 0 pass, 1 fail.
"""
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import check  # noqa: E402

MEM = "64M"


def rams(d, src_content="random"):
    """A source RAM file with random content and a destination one with 0xA5."""
    src, dst = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
    h = M.make_ram(src, MEM, src_content)
    M.make_ram(dst, MEM, 0xA5)
    return src, dst, h


def finish(src, dst, src_ram, dst_ram, dst_state="running"):
    """After migrate: both sides completed, the source postmigrate, the
    destination in dst_state; quit both (exit 0) and compare the RAM."""
    info = M.wait_mig(src, "completed")
    for k in ("total-time", "downtime", "ram"):
        check(k in info, "source query-migrate at completed lacks %r: %r" % (k, info))
    check(info["ram"]["total"] == M.parse_size(MEM), "ram.total %r" % info["ram"]["total"])
    check(src.runstate() == "postmigrate", "source run state %r" % src.runstate())
    if dst is not None:
        M.wait_mig(dst, "completed", timeout=30)
        M.wait_runstate(dst, dst_state)
        dst.quit()
    src.quit()
    M.check_same_ram(src_ram, dst_ram, "destination")


def simple(a, d, uri_for_dst, uri_for_src=None, stop_first=False):
    src_ram, dst_ram, _ = rams(d)
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming=uri_for_dst)
    check(dst.runstate() == "inmigrate", "destination run state %r" % dst.runstate())
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    check(src.runstate() == "running", "source run state %r" % src.runstate())
    if stop_first:
        src.ok("stop")
    M.migrate(src, uri_for_src or uri_for_dst)
    finish(src, dst, src_ram, dst_ram, "paused" if stop_first else "running")


def case_tcp(a, d):
    simple(a, d, M.tcp_uri())


def case_unix(a, d):
    simple(a, d, "unix:" + os.path.join(d, "mig.sock"))


def case_stopped(a, d):
    simple(a, d, M.tcp_uri(), stop_first=True)


def save_then_load(a, d, src_uri, dst_uri, stop_first):
    """The source writes the stream somewhere, then a destination reads it."""
    src_ram, dst_ram, _ = rams(d)
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    if stop_first:
        src.ok("stop")
    M.migrate(src, src_uri)
    finish(src, None, src_ram, src_ram)
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming=dst_uri)
    M.wait_mig(dst, "completed", timeout=30)
    M.wait_runstate(dst, "paused" if stop_first else "running")
    dst.quit()
    M.check_same_ram(src_ram, dst_ram, "destination")


def case_exec(a, d):
    f = os.path.join(d, "stream")
    save_then_load(a, d, "exec:cat > %s" % f, "exec:cat %s" % f, stop_first=False)


def case_file(a, d):
    f = os.path.join(d, "stream")
    save_then_load(a, d, "file:" + f, "file:" + f, stop_first=True)


def fd_migration(a, d, src_end, dst_fd, stop_first):
    src_ram, dst_ram, _ = rams(d)
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming="fd:%d" % dst_fd,
                      pass_fds=[dst_fd])
    os.close(dst_fd)  # the destination has its copy
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    check(src.ok("getfd", {"fdname": "migfd"}, fd=src_end) == {}, "getfd")
    os.close(src_end)
    if stop_first:
        src.ok("stop")
    M.migrate(src, "fd:migfd")
    # The migration took the descriptor out of the named set, as in QEMU.
    e = src.qmp.error("closefd", {"fdname": "migfd"})
    check(e["desc"] == "File descriptor named 'migfd' not found", "closefd after migrate %r" % e)
    finish(src, dst, src_ram, dst_ram, "paused" if stop_first else "running")


def case_fd(a, d):
    s1, s2 = socket.socketpair()
    src_end, dst_end = os.dup(s1.fileno()), os.dup(s2.fileno())
    s1.close()
    s2.close()
    fd_migration(a, d, src_end, dst_end, stop_first=False)
    # Again with a pipe (one-way, no shutdown(2)) and a stopped source.
    sub = os.path.join(d, "pipe")
    os.mkdir(sub)
    r, w = os.pipe()
    fd_migration(a, sub, w, r, stop_first=True)


def ram_changes(path, within=10.0):
    """True once the RAM file changes (a running workload)."""
    h = M.file_hash(path)
    M.wait_until("the workload to write %s" % path, lambda: M.file_hash(path) != h, within, 0.05)


def ram_still(path, what, wait=0.4):
    h = M.file_hash(path)
    time.sleep(wait)
    check(M.file_hash(path) == h, "%s: the RAM changes although the VM does not run" % what)


def case_dest_paused(a, d):
    src_ram, dst_ram, _ = rams(d)
    uri = M.tcp_uri()
    # The destination has a workload: it must not write before `cont`.
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming=uri,
                      extra=["-S", "--workload", "random-writes", "--dirty-rate", "64"])
    ram_still(dst_ram, "inmigrate")
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    M.migrate(src, uri)
    M.wait_mig(src, "completed")
    M.wait_mig(dst, "completed", timeout=30)
    M.wait_runstate(dst, "paused")
    ram_still(dst_ram, "paused after the migration")
    M.check_same_ram(src_ram, dst_ram, "destination before cont")
    dst.ok("cont")
    M.wait_runstate(dst, "running")
    ram_changes(dst_ram)
    dst.quit()
    src.quit()


def case_workload(a, d):
    """The workload threads are the vCPUs: they write only while the VM runs."""
    ram = os.path.join(d, "vm.ram")
    M.make_ram(ram, MEM, "zero")
    vm = M.start_vmm(a, d, "vm", MEM, ram, extra=["-S", "--prealloc", "--workload",
                                                   "random-writes", "--dirty-rate", "128",
                                                   "--workload-threads", "3"])
    ram_still(ram, "prelaunch")
    vm.ok("cont")
    ram_changes(ram)
    for _ in range(5):
        vm.ok("stop")
        check(vm.runstate() == "paused", "run state %r" % vm.runstate())
        ram_still(ram, "stopped", wait=0.2)
        vm.ok("cont")
        ram_changes(ram)
    vm.quit()
    # SIGTERM while the threads write: a clean exit (they are joined first).
    vm = M.start_vmm(a, d, "vm2", MEM, ram, extra=["--workload", "random-writes"])
    ram_changes(ram)
    vm.proc.send_signal(signal.SIGTERM)
    check(vm.wait_exit() == 0, "exit status after SIGTERM: %s" % vm.stderr_text())


def case_auto_converge(a, d):
    """A workload dirtying faster than max-bandwidth converges only through
    auto-converge, i.e. through the throttle the vmm applies to its threads."""
    src_ram, dst_ram, _ = rams(d)
    uri = M.tcp_uri()
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming=uri)
    src = M.start_vmm(a, d, "src", MEM, src_ram,
                      extra=["--workload", "random-writes", "--dirty-rate", "64"])
    src.set_caps(auto_converge=True)
    src.set_params(max_bandwidth=32 << 20, cpu_throttle_initial=50,
                   cpu_throttle_increment=20)
    check(src.ok("migrate", {"uri": uri}) == {}, "migrate")
    throttled = M.wait_until("the source to throttle",
                             lambda: src.mig().get("cpu-throttle-percentage"), 60, 0.1)
    print("throttled to %d%%" % throttled)
    info = M.wait_mig(src, "completed", timeout=120)
    print("completed after %d ms, %d syncs" % (info["total-time"],
                                               info["ram"]["dirty-sync-count"]))
    finish(src, dst, src_ram, dst_ram)


def case_defer(a, d):
    src_ram, dst_ram, _ = rams(d)
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming="defer")
    check(dst.runstate() == "inmigrate", "deferred destination run state %r" % dst.runstate())
    dst.set_caps(events=True)
    caps = {c["capability"]: c["state"] for c in dst.ok("query-migrate-capabilities")}
    check(caps.get("events") is True, "events not set on the destination: %r" % caps)
    uri = M.tcp_uri()
    check(dst.ok("migrate-incoming", {"uri": uri}) == {}, "migrate-incoming")
    e = dst.qmp.error("migrate-incoming", {"uri": M.tcp_uri()})
    check(e["desc"] == "The incoming migration has already been started",
          "second migrate-incoming: %r" % e)
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    M.migrate(src, uri)
    finish(src, dst, src_ram, dst_ram)


def deferred_migration(a, d, **caps):
    """A destination started with --incoming defer and a source, the same
    capabilities set on both (set_caps() names), migrate-incoming on a tcp
    URI, then migrate. Returns (src, dst, src_ram, dst_ram)."""
    src_ram, dst_ram, _ = rams(d)
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming="defer")
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    dst.set_caps(**caps)
    src.set_caps(**caps)
    uri = M.tcp_uri()
    dst.ok("migrate-incoming", {"uri": uri})
    M.migrate(src, uri)
    return src, dst, src_ram, dst_ram


def case_events(a, d):
    src, dst, src_ram, dst_ram = deferred_migration(a, d, events=True)
    sev = M.wait_event_status(src, "completed", timeout=60)
    dev = M.wait_event_status(dst, "completed", timeout=30)
    # QEMU 7.2 sends the destination's RESUME just before its completed;
    # accept it just after too.
    if not any(e["event"] == "RESUME" for e in dev):
        dev += [e for e in [dst.qmp.event(timeout=5)] if e]
    names = [(e["event"], e.get("data")) for e in sev]
    check(M.migration_states(sev) == ["setup", "active", "completed"],
          "source MIGRATION sequence: %s" % names)
    passes = [e["data"]["pass"] for e in sev if e["event"] == "MIGRATION_PASS"]
    check(passes and passes[0] == 1 and passes == sorted(passes) and
          len(set(passes)) == len(passes), "source MIGRATION_PASS: %s" % names)
    # pass 1 is announced between setup and active (7.2).
    kinds = [e["event"] if e["event"] != "MIGRATION" else e["data"]["status"] for e in sev]
    check(kinds.index("MIGRATION_PASS") < kinds.index("active"),
          "MIGRATION_PASS 1 after active: %s" % names)
    check("STOP" in kinds and kinds.index("STOP") < kinds.index("completed"),
          "source STOP before completed: %s" % names)
    dnames = [(e["event"], e.get("data")) for e in dev]
    check(M.migration_states(dev) == ["setup", "active", "completed"],
          "destination MIGRATION sequence: %s" % dnames)
    check(any(e["event"] == "RESUME" for e in dev), "no RESUME on the destination: %s" % dnames)
    # The capability query shows exactly what was set.
    caps = {c["capability"]: c["state"] for c in src.ok("query-migrate-capabilities")}
    check(caps["events"] is True and caps["return-path"] is False, "source caps %r" % caps)
    finish(src, dst, src_ram, dst_ram)


def return_path_refused(a, d, uri):
    """return-path on a one-way channel: migrate refused, or failed with a
    message about the return path; the source runs on, RAM intact."""
    src_ram, _, h = rams(d)
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    src.set_caps(return_path=True)
    src.set_params(max_bandwidth=M.FAST_BANDWIDTH)
    r = src.execute("migrate", {"uri": uri})
    if "error" in r:
        msg = r["error"]["desc"]
    else:
        info = M.wait_mig(src, "failed", timeout=30)
        msg = info.get("error-desc", "")
    check("return" in msg.lower(), "%s with return-path: unclear error %r" % (uri, msg))
    M.wait_runstate(src, "running", timeout=10)
    src.quit()
    check(M.file_hash(src_ram) == h, "source RAM changed by a failed migration")
    return msg


def case_return_path(a, d):
    src, dst, src_ram, dst_ram = deferred_migration(a, d, return_path=True)
    finish(src, dst, src_ram, dst_ram)
    for kind in ("exec", "file"):
        sub = os.path.join(d, kind)
        os.mkdir(sub)
        f = os.path.join(sub, "stream")
        uri = "exec:cat > %s" % f if kind == "exec" else "file:" + f
        msg = return_path_refused(a, sub, uri)
        print("return-path over %s: %s" % (kind, msg))


def case_live(a, d):
    src_ram, dst_ram, _ = rams(d)
    uri = M.tcp_uri()
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming=uri)
    src = M.start_vmm(a, d, "src", MEM, src_ram,
                      extra=["--workload", "random-writes", "--dirty-rate", "64",
                             "--workload-threads", "2"])
    # The workload runs: the RAM file changes on its own.
    before = M.file_hash(src_ram)
    M.wait_until("the workload to write", lambda: M.file_hash(src_ram) != before, 10, 0.05)
    M.migrate(src, uri)
    info = M.wait_mig(src, "completed")
    check(info["ram"].get("dirty-sync-count", 0) >= 2, "one sync only: %r" % info["ram"])
    # postmigrate: the workload is paused, the RAM no longer changes.
    h1 = M.file_hash(src_ram)
    time.sleep(0.3)
    check(M.file_hash(src_ram) == h1, "the source RAM changes after completion")
    finish(src, dst, src_ram, dst_ram)


def case_postmigrate(a, d):
    src_ram, dst_ram, _ = rams(d)
    uri = M.tcp_uri()
    dst = M.start_vmm(a, d, "dst", MEM, dst_ram, incoming=uri)
    src = M.start_vmm(a, d, "src", MEM, src_ram)
    M.migrate(src, uri)
    M.wait_mig(src, "completed")
    e = src.qmp.error("migrate", {"uri": M.tcp_uri()})
    check(e["desc"] == "Can't migrate the vm that was paused due to previous migration",
          "second migrate: %r" % e)
    check(src.runstate() == "postmigrate", "run state %r" % src.runstate())
    finish(src, dst, src_ram, dst_ram)


CASES = {
    "tcp": case_tcp,
    "unix": case_unix,
    "exec": case_exec,
    "file": case_file,
    "fd": case_fd,
    "stopped": case_stopped,
    "dest-paused": case_dest_paused,
    "defer": case_defer,
    "events": case_events,
    "return-path": case_return_path,
    "live": case_live,
    "workload": case_workload,
    "auto-converge": case_auto_converge,
    "postmigrate": case_postmigrate,
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_uris", CASES, __doc__, limit=200))
