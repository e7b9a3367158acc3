#!/usr/bin/env python3
"""test_migrate_multifd.py - capability multifd (spec/multifd.md) between
vmig-vmm processes and with QEMU 7.2 (-M none,memory-backend=mem): 64 MiB of
mixed RAM (zero, random, text-like and sparse pages), 2 channels; the
destination is started with -incoming defer so that its capabilities and
parameters are set before migrate-incoming; after completion its RAM file
equals the source's. The QEMU cases skip (77) without qemu-system-x86_64
(KVM is used when /dev/kvm works, else TCG: -M none has no vCPU).

  test_migrate_multifd.py CASE --vmm PATH
CASE:
  vmig-to-qemu-none   vmig-vmm source (tcp, 2 channels, no compression) ->
                      QEMU; the source runs --workload random-writes (32
                      MiB/s) during the migration, limited to 64 MiB/s: at
                      least 3 dirty syncs, pages sent more than once, and
                      still QEMU's RAM equals the source's (frozen once
                      postmigrate)
  vmig-to-qemu-zlib   the same without workload, multifd-compression zlib
  vmig-to-qemu-zstd   the same, zstd
  qemu-to-vmig-none   QEMU source -> vmig-vmm destination, no compression
  qemu-to-vmig-zlib   the same, zlib
  qemu-to-vmig-zstd   the same, zstd
  vmig-unix           vmig-vmm -> vmig-vmm over unix:PATH, 2 channels, zstd
  exec-refused        multifd with an exec: URI: migrate is accepted, then the
                      source fails with "multifd is not supported by current
                      protocol" (error-desc) and keeps running with its RAM
                      intact, then migrates to exec: without multifd; QEMU
                      7.2 (when installed) fails the same way (it prints the
                      text on stderr, its query-migrate has no error-desc)
For every completed migration the source's ram.multifd-bytes is at least its
ram.normal x 4096 (packets carry their headers too) and the normal pages
cover at least the source's non-zero pages.
Exit status: 0 pass, 1 fail, 77 QEMU not installed (QEMU cases only).
"""
import json
import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import check  # noqa: E402

MEM = "64M"
PAGE = 4096
CHANNELS = 2
MF_HDR = 1344
# vmig-to-qemu-none: the source's workload dirties 32 MiB/s, the migration
# is limited to 64 MiB/s (multifd bytes count against the limit).
WORKLOAD_DIRTY_RATE = "32"
WORKLOAD_BANDWIDTH = 64 << 20
UNSUPPORTED = "multifd is not supported by current protocol"
WORDS = (b"the of and to in is was for on that with as by at from his migration page "
         b"channel packet multifd sync zero offset block ").split()


def make_mixed_ram(path, memory, seed):
    """A RAM file of memory bytes, page i: zero (i % 4 == 0), random (1),
    text-like (2) or mostly zero with a few bytes set (3). Returns the
    number of non-zero pages."""
    size = M.parse_size(memory)
    rnd = random.Random(seed)
    text = b" ".join(rnd.choice(WORDS) for _ in range(40000))
    zero = bytes(PAGE)
    nonzero = 0
    with open(path, "wb") as f:
        chunk = []
        for i in range(size // PAGE):
            k = i % 4
            if k == 0:
                pg = zero
            elif k == 1:
                pg = os.urandom(PAGE)
            elif k == 2:
                off = rnd.randrange(len(text) - PAGE)
                pg = text[off:off + PAGE]
            else:
                b = bytearray(PAGE)
                for _ in range(8):
                    b[rnd.randrange(PAGE)] = rnd.randrange(1, 256)
                pg = bytes(b)
            nonzero += k != 0
            chunk.append(pg)
            if len(chunk) == 1024:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
    return nonzero


def rams(d):
    src, dst = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
    nonzero = make_mixed_ram(src, MEM, 7)
    M.make_ram(dst, MEM, 0x5A)
    return src, dst, nonzero


def multifd_on(vm, method, channels=CHANNELS):
    vm.set_caps(multifd=True)
    vm.set_params(**{"multifd-channels": channels, "multifd-compression": method})
    caps = {c["capability"]: c["state"] for c in vm.ok("query-migrate-capabilities")}
    check(caps.get("multifd") is True, "%s: multifd not on: %r" % (vm.name, caps))
    p = vm.ok("query-migrate-parameters")
    check(p.get("multifd-channels") == channels and p.get("multifd-compression") == method,
          "%s: parameters %r" % (vm.name, {k: v for k, v in p.items() if "multifd" in k}))


def check_accounting(info, who, nonzero):
    """A completed source's ram counters: the normal pages (all of which go
    on the channels) cover the non-zero pages, and multifd-bytes is pages
    plus whole packet headers. QEMU 7.2 also counts each packet's header
    (spec §8); vmig's count is exact."""
    ram = info.get("ram", {})
    mfb, normal = ram.get("multifd-bytes", 0), ram.get("normal", 0)
    check(mfb > 0, "%s: multifd-bytes %r: no page went on a channel" % (who, mfb))
    check(normal >= nonzero, "%s: normal %d < %d non-zero pages" % (who, normal, nonzero))
    check(mfb >= normal * PAGE, "%s: multifd-bytes %d < normal %d x 4096" % (who, mfb, normal))
    check(ram.get("transferred", 0) >= mfb, "%s: transferred < multifd-bytes: %r" % (who, ram))
    extra = mfb - normal * PAGE
    print("%s: normal %d, multifd-bytes %d (%d bytes of headers = %.1f x 1344), "
          "transferred %d, dirty-sync-count %d" %
          (who, normal, mfb, extra, extra / MF_HDR, ram.get("transferred", 0),
           ram.get("dirty-sync-count", 0)))
    return extra


def end(src, dst, src_ram, dst_ram, nonzero):
    """Both completed, the source postmigrate, the destination running;
    quit both, compare the RAM; returns the source's last query-migrate."""
    info = M.wait_mig(src, "completed", timeout=40)
    M.wait_runstate(src, "postmigrate")
    M.wait_mig(dst, "completed", timeout=20)
    M.wait_runstate(dst, "running")
    extra = check_accounting(info, src.name, nonzero)
    if src.kind == "vmig":
        check(extra % MF_HDR == 0, "%s: multifd-bytes - normal x 4096 = %d, not whole "
              "headers" % (src.name, extra))
    dst.quit(timeout=20)
    src.quit(timeout=20)
    M.check_same_ram(src_ram, dst_ram, "%s's RAM after migrating from %s with multifd" %
                     (dst.name, src.name))
    return info


def vmig_to_qemu(a, d, method, workload=False):
    M.require_qemu()
    src_ram, dst_ram, nonzero = rams(d)
    uri = M.tcp_uri()
    dst = M.start_qemu(d, "qemu-dst", MEM, dst_ram, incoming="defer")
    multifd_on(dst, method)
    dst.ok("migrate-incoming", {"uri": uri})
    extra = ["--workload", "random-writes", "--dirty-rate", WORKLOAD_DIRTY_RATE] if workload else []
    src = M.start_vmm(a, d, "vmig-src", MEM, src_ram, extra=extra)
    multifd_on(src, method)
    if workload:
        before = M.file_hash(src_ram)
        M.wait_until("the workload to write", lambda: M.file_hash(src_ram) != before, 10, 0.05)
        # Twice the dirty rate: a first pass of about a second, then
        # shrinking passes, each ended by a SYNC on every channel; pages
        # sent again after a SYNC must never be overwritten by older copies.
        src.set_params(max_bandwidth=WORKLOAD_BANDWIDTH)
    M.migrate(src, uri, fast=not workload)
    info = end(src, dst, src_ram, dst_ram, 0 if workload else nonzero)
    if workload:
        check(info["ram"].get("dirty-sync-count", 0) >= 3,
              "fewer than 3 dirty syncs under a workload: %r" % info["ram"])
        check(info["ram"]["normal"] > nonzero, "no page was sent twice: %r" % info["ram"])


def qemu_to_vmig(a, d, method):
    M.require_qemu()
    src_ram, dst_ram, nonzero = rams(d)
    uri = M.tcp_uri()
    dst = M.start_vmm(a, d, "vmig-dst", MEM, dst_ram, incoming="defer")
    multifd_on(dst, method)
    dst.ok("migrate-incoming", {"uri": uri})
    src = M.start_qemu(d, "qemu-src", MEM, src_ram)
    multifd_on(src, method)
    M.migrate(src, uri)
    end(src, dst, src_ram, dst_ram, nonzero)


def case_vmig_unix(a, d):
    src_ram, dst_ram, nonzero = rams(d)
    uri = "unix:" + os.path.join(d, "mig.sock")
    dst = M.start_vmm(a, d, "vmig-dst", MEM, dst_ram, incoming="defer")
    multifd_on(dst, "zstd")
    dst.ok("migrate-incoming", {"uri": uri})
    src = M.start_vmm(a, d, "vmig-src", MEM, src_ram)
    multifd_on(src, "zstd")
    M.migrate(src, uri)
    end(src, dst, src_ram, dst_ram, nonzero)


def exec_refused(vm, d, ram, what):
    """multifd on, migrate to exec:: accepted, then failed with QEMU's text;
    the VM runs on, its RAM as it was. vmig puts the text in error-desc;
    QEMU 7.2 only prints it (error_report_err in migrate_fd_connect) and
    leaves query-migrate without error-desc."""
    h = M.file_hash(ram)
    multifd_on(vm, "none")
    out = os.path.join(d, "%s.stream" % vm.name)
    M.migrate(vm, "exec:cat > %s" % out)
    info = M.wait_mig(vm, "failed", timeout=20, allow_failed=True)
    desc = info.get("error-desc")
    if vm.kind == "vmig":
        check(desc == UNSUPPORTED, "%s: error-desc %r, want %r (%s)" %
              (what, desc, UNSUPPORTED, json.dumps(info)))
    else:
        check(desc in (None, UNSUPPORTED), "%s: error-desc %r" % (what, desc))
        M.wait_until("%s to print the refusal" % what, lambda: UNSUPPORTED in vm.stderr_text(),
                     5)
    check(vm.runstate() == "running", "%s: run state %r after the failure" %
          (what, vm.runstate()))
    check(M.file_hash(ram) == h, "%s: the RAM changed" % what)
    print("%s: query-migrate %s" % (what, json.dumps(info)))


def case_exec_refused(a, d):
    src_ram = os.path.join(d, "src.ram")
    make_mixed_ram(src_ram, MEM, 3)
    src = M.start_vmm(a, d, "vmig-src", MEM, src_ram)
    exec_refused(src, d, src_ram, "vmig")
    # The VM can still migrate (without multifd) afterwards.
    src.set_caps(multifd=False)
    f = os.path.join(d, "plain.stream")
    M.migrate(src, "exec:cat > %s" % f)
    M.wait_mig(src, "completed", timeout=30)
    check(os.path.getsize(f) > M.parse_size(MEM) // 2, "plain stream too short")
    src.quit()
    if not M.qemu_path():
        # Half the case ran: a skip, not a pass.
        raise M.Skip("vmig's refusal checked; QEMU not installed, its refusal not compared")
    q_ram = os.path.join(d, "q.ram")
    make_mixed_ram(q_ram, MEM, 3)
    q = M.start_qemu(d, "qemu-src", MEM, q_ram)
    exec_refused(q, d, q_ram, "QEMU 7.2")
    q.quit()


CASES = {
    "vmig-to-qemu-none": lambda a, d: vmig_to_qemu(a, d, "none", workload=True),
    "vmig-to-qemu-zlib": lambda a, d: vmig_to_qemu(a, d, "zlib"),
    "vmig-to-qemu-zstd": lambda a, d: vmig_to_qemu(a, d, "zstd"),
    "qemu-to-vmig-none": lambda a, d: qemu_to_vmig(a, d, "none"),
    "qemu-to-vmig-zlib": lambda a, d: qemu_to_vmig(a, d, "zlib"),
    "qemu-to-vmig-zstd": lambda a, d: qemu_to_vmig(a, d, "zstd"),
    "vmig-unix": case_vmig_unix,
    "exec-refused": case_exec_refused,
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_multifd", CASES, __doc__, limit=90))
