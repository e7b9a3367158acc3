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
Exit status: 0 pass, 1 fail, 77 QEMU not installed.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import check  # noqa: E402

MEM = "256M"


def rams(d):
    src, dst = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
    M.make_ram(src, MEM, "random")
    M.make_ram(dst, MEM, 0x5A)
    return src, dst


def end(src, dst, src_ram, dst_ram, dst_state):
    info = M.wait_mig(src, "completed", timeout=120)
    check(info.get("ram", {}).get("total") == M.parse_size(MEM),
          "%s ram.total %r" % (src.name, info.get("ram")))
    M.wait_runstate(src, "postmigrate")
    M.wait_mig(dst, "completed", timeout=60)
    M.wait_runstate(dst, dst_state)
    dst.quit(timeout=30)
    src.quit(timeout=30)
    M.check_same_ram(src_ram, dst_ram, "%s's RAM after migrating from %s" % (dst.name, src.name))


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


CASES = {
    "qemu-to-vmig": lambda a, d: qemu_to_vmig(a, d, False),
    "qemu-to-vmig-stopped": lambda a, d: qemu_to_vmig(a, d, True),
    "vmig-to-qemu": lambda a, d: vmig_to_qemu(a, d, False),
    "vmig-to-qemu-stopped": lambda a, d: vmig_to_qemu(a, d, True),
    "qemu-to-vmig-rp": lambda a, d: qemu_to_vmig(a, d, False, rp=True),
    "vmig-to-qemu-rp": lambda a, d: vmig_to_qemu(a, d, False, rp=True),
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_qemu", CASES, __doc__, limit=280))
