#!/usr/bin/env python3
"""test_migrate_qemu.py - live migration between QEMU 7.2 and vmig-vmm over
tcp, both directions: QEMU -M none,memory-backend=mem with 256 MiB of
file-backed RAM holding random content, vmig-vmm --machine none with the same
size; the RAM files must be equal afterwards. Skipped (77) without
qemu-system-x86_64.

  test_migrate_qemu.py CASE --vmm PATH
CASE:
  qemu-to-vmig          QEMU source (running) -> vmig-vmm --incoming tcp:;
                        vmig-vmm ends running, QEMU postmigrate
  qemu-to-vmig-stopped  the same with QEMU stopped first: vmig-vmm ends paused
  vmig-to-qemu          vmig-vmm source (running) -> QEMU -incoming tcp:;
                        QEMU ends running, vmig-vmm postmigrate
  vmig-to-qemu-stopped  vmig-vmm stopped first -> QEMU -incoming defer +
                        migrate-incoming (events on): QEMU ends paused
  qemu-to-vmig-rp       QEMU source -> vmig-vmm, capability return-path on both
                        (OPEN_RETURN_PATH, PING/PONG, SHUT from vmig)
  vmig-to-qemu-rp       vmig-vmm source -> QEMU, return-path on both (QEMU's
                        PONG and SHUT read by vmig)
  qemu-to-vmig-compress QEMU source -> vmig-vmm, capability compress on both
                        (COMPRESS_PAGE records: QEMU's compression.pages > 0)
  vmig-to-qemu-compress vmig-vmm source -> QEMU, compress on both (the
                        source's compression.pages > 0)
  vmig-to-qemu-xbzrle   vmig-vmm source --workload random-writes (64 MiB) ->
                        QEMU, xbzrle on both, a bandwidth low enough for
                        several passes: the source's xbzrle-cache.pages > 0,
                        QEMU's RAM equals the frozen source's
The compress and xbzrle cases skip (77, "SKIP: vmig does not implement CAP
yet") while vmig-vmm refuses the capability with exactly "Capability 'CAP' is
not supported by vmig yet"; any other refusal fails.
Exit status: 0 pass, 1 fail, 77 QEMU not installed (or the skip above).
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import Fail, check  # noqa: E402

MEM = "256M"
# vmig-to-qemu-xbzrle: 64 MiB fit the default 64 MiB XBZRLE cache, so every
# page dirtied again after its first resend is a cache hit (the pacing:
# mig_py.migrate_until_xbzrle_hits).
XBZRLE_MEM = "64M"


def rams(d):
    src, dst = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
    M.make_ram(src, MEM, "random")
    M.make_ram(dst, MEM, 0x5A)
    return src, dst


def end(src, dst, src_ram, dst_ram, dst_state, mem=MEM):
    """Wait for both sides to complete, quit both, compare the RAM files;
    returns the source's last query-migrate."""
    info = M.wait_mig(src, "completed", timeout=120)
    check(info.get("ram", {}).get("total") == M.parse_size(mem),
          "%s ram.total %r" % (src.name, info.get("ram")))
    M.wait_runstate(src, "postmigrate")
    M.wait_mig(dst, "completed", timeout=60)
    M.wait_runstate(dst, dst_state)
    dst.quit(timeout=30)
    src.quit(timeout=30)
    M.check_same_ram(src_ram, dst_ram, "%s's RAM after migrating from %s" % (dst.name, src.name))
    return info


def vmig_cap_on(vm, cap):
    """Turn cap on in vmig-vmm. The one refusal that skips is vmig's
    not-implemented one, word for word: anything else (another message, a
    typo in the name) is a failure, not a reason to skip."""
    r = vm.execute("migrate-set-capabilities",
                   {"capabilities": [{"capability": cap, "state": True}]})
    if "error" in r:
        if r["error"].get("desc") == "Capability '%s' is not supported by vmig yet" % cap:
            raise M.Skip("vmig does not implement %s yet" % cap)
        raise Fail("%s: migrate-set-capabilities %s: %r" % (vm.name, cap, r["error"]))
    check(r.get("return") == {}, "%s: migrate-set-capabilities %s: %r" % (vm.name, cap, r))
    caps = {c["capability"]: c["state"] for c in vm.ok("query-migrate-capabilities")}
    check(caps.get(cap) is True, "%s: %s not on after setting it: %r" % (vm.name, cap, caps))


def stat(info, group, key, who):
    """query-migrate's info[group][key] (e.g. xbzrle-cache.pages), which must
    be there: without it the test cannot tell the capability was used."""
    check(isinstance(info.get(group), dict) and key in info[group],
          "%s: query-migrate has no %s.%s: %r" % (who, group, key, info))
    return info[group][key]


def qemu_to_vmig(a, d, stop_first, rp=False):
    M.require_qemu()
    src_ram, dst_ram = rams(d)
    uri = M.tcp_uri()
    if rp:
        dst = M.start_vmm(a, d, "vmig-dst", MEM, dst_ram, incoming="defer")
        dst.set_caps(**{"return-path": True})
        dst.ok("migrate-incoming", {"uri": uri})
    else:
        dst = M.start_vmm(a, d, "vmig-dst", MEM, dst_ram, incoming=uri)
    src = M.start_qemu(d, "qemu-src", MEM, src_ram)
    if rp:
        src.set_caps(**{"return-path": True})
    check(src.runstate() == "running", "QEMU run state %r" % src.runstate())
    if stop_first:
        src.ok("stop")
    M.migrate(src, uri)
    end(src, dst, src_ram, dst_ram, "paused" if stop_first else "running")


def vmig_to_qemu(a, d, stop_first, rp=False):
    M.require_qemu()
    src_ram, dst_ram = rams(d)
    uri = M.tcp_uri()
    if rp:
        dst = M.start_qemu(d, "qemu-dst", MEM, dst_ram, incoming="defer")
        dst.set_caps(**{"return-path": True})
        dst.ok("migrate-incoming", {"uri": uri})
    elif stop_first:
        dst = M.start_qemu(d, "qemu-dst", MEM, dst_ram, incoming="defer")
        dst.set_caps(events=True)
        dst.ok("migrate-incoming", {"uri": uri})
    else:
        dst = M.start_qemu(d, "qemu-dst", MEM, dst_ram, incoming=uri)
    check(dst.runstate() == "inmigrate", "QEMU destination run state %r" % dst.runstate())
    src = M.start_vmm(a, d, "vmig-src", MEM, src_ram)
    if rp:
        src.set_caps(**{"return-path": True})
    if stop_first:
        src.ok("stop")
    M.migrate(src, uri)
    if stop_first and not rp:
        evs = M.wait_event_status(dst, "completed", timeout=120)
        check(M.migration_states(evs) == ["setup", "active", "completed"],
              "QEMU destination MIGRATION events %r" % [e.get("data") for e in evs])
    end(src, dst, src_ram, dst_ram, "paused" if stop_first else "running")


def qemu_to_vmig_compress(a, d):
    M.require_qemu()
    src_ram, dst_ram = rams(d)
    uri = M.tcp_uri()
    dst = M.start_vmm(a, d, "vmig-dst", MEM, dst_ram, incoming="defer")
    vmig_cap_on(dst, "compress")  # 7.2 cannot load COMPRESS_PAGE without it (lab §2)
    dst.ok("migrate-incoming", {"uri": uri})
    src = M.start_qemu(d, "qemu-src", MEM, src_ram)
    src.set_caps(compress=True)
    M.migrate(src, uri)
    info = end(src, dst, src_ram, dst_ram, "running")
    # Random pages are compressed (zero ones would go as ZERO records).
    pages = stat(info, "compression", "pages", src.name)
    check(pages > 0, "QEMU compressed no page: %r" % info["compression"])
    print("QEMU sent %d compressed pages, %d bytes" %
          (pages, info["compression"].get("compressed-size", -1)))


def vmig_to_qemu_compress(a, d):
    M.require_qemu()
    src_ram, dst_ram = rams(d)
    uri = M.tcp_uri()
    src = M.start_vmm(a, d, "vmig-src", MEM, src_ram)
    vmig_cap_on(src, "compress")
    dst = M.start_qemu(d, "qemu-dst", MEM, dst_ram, incoming="defer")
    dst.set_caps(compress=True)
    dst.ok("migrate-incoming", {"uri": uri})
    M.migrate(src, uri)
    info = end(src, dst, src_ram, dst_ram, "running")
    # QEMU's destination loads plain pages too: only the source's counter
    # shows that COMPRESS_PAGE records went over the wire.
    pages = stat(info, "compression", "pages", src.name)
    check(pages > 0, "vmig compressed no page: %r" % info["compression"])
    print("vmig sent %d compressed pages" % pages)


def vmig_to_qemu_xbzrle(a, d):
    M.require_qemu()
    src_ram, dst_ram = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
    M.make_ram(src_ram, XBZRLE_MEM, "random")
    M.make_ram(dst_ram, XBZRLE_MEM, 0x5A)
    uri = M.tcp_uri()
    src = M.start_vmm(a, d, "vmig-src", XBZRLE_MEM, src_ram,
                      extra=["--workload", "random-writes", "--dirty-rate", M.XBZRLE_DIRTY_RATE])
    vmig_cap_on(src, "xbzrle")
    dst = M.start_qemu(d, "qemu-dst", XBZRLE_MEM, dst_ram, incoming="defer")
    dst.set_caps(xbzrle=True)  # not needed to load XBZRLE (xbzrle.md §2), as a user would
    dst.ok("migrate-incoming", {"uri": uri})
    M.migrate_until_xbzrle_hits(src, uri)
    # The source ends postmigrate: its workload is stopped, so its RAM file
    # is frozen and must equal QEMU's.
    info = end(src, dst, src_ram, dst_ram, "running", mem=XBZRLE_MEM)
    pages = stat(info, "xbzrle-cache", "pages", src.name)
    check(pages > 0, "no XBZRLE cache hit in %s passes, the test proves nothing: %r" %
          (info["ram"].get("dirty-sync-count"), info["xbzrle-cache"]))
    print("vmig: %d passes, xbzrle-cache %s" % (info["ram"].get("dirty-sync-count", -1),
                                                  json.dumps(info["xbzrle-cache"])))


CASES = {
    "qemu-to-vmig": lambda a, d: qemu_to_vmig(a, d, False),
    "qemu-to-vmig-stopped": lambda a, d: qemu_to_vmig(a, d, True),
    "vmig-to-qemu": lambda a, d: vmig_to_qemu(a, d, False),
    "vmig-to-qemu-stopped": lambda a, d: vmig_to_qemu(a, d, True),
    "qemu-to-vmig-rp": lambda a, d: qemu_to_vmig(a, d, False, rp=True),
    "vmig-to-qemu-rp": lambda a, d: vmig_to_qemu(a, d, False, rp=True),
    "qemu-to-vmig-compress": qemu_to_vmig_compress,
    "vmig-to-qemu-compress": vmig_to_qemu_compress,
    "vmig-to-qemu-xbzrle": vmig_to_qemu_xbzrle,
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_qemu", CASES, __doc__, limit=280))
