#!/usr/bin/env python3
"""xbzrle.py - the XBZRLE benchmark: the codec figures of build/bench/xbzrle
(vectorised vs scalar encode, decode, 1/10/50 % deltas) plus the bytes sent
and total time of a live vmig->vmig migration whose guest keeps writing small
changes into its pages, once without and once with the xbzrle capability.

  bench/xbzrle.py [--build DIR] [--size 16M] [--dirty-rate 48] [--bandwidth 64]
                  [--json]

--json prints one object: the codec keys (encode_gbps_<p>pct, ...) and
migration_bytes_ratio (bytes sent without XBZRLE / with), plus
plain_bytes, xbzrle_bytes, plain_ms, xbzrle_ms, xbzrle_pages."""
import argparse
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def one_migration(a, d, src_ram, xbzrle):
    """Migrate a running random-writes source; the bytes on the wire, ms."""
    port = bl.free_port()
    uri = "tcp:127.0.0.1:%d" % port
    dst_ram = os.path.join(d, "dst.ram")
    bl.make_empty(dst_ram, a.size)
    dst = bl.VM("vmig", a.vmm, d, dst_ram, a.size, incoming=uri, tag="dst")
    src = bl.VM("vmig", a.vmm, d, src_ram, a.size, tag="src",
                extra=["--workload", "random-writes", "--dirty-rate", str(a.dirty_rate)])
    try:
        dst.qmp = dst.connect()
        src.qmp = src.connect()
        src.qmp.ok("cont")
        time.sleep(0.3)  # the guest is writing
        if xbzrle:
            src.qmp.ok("migrate-set-capabilities",
                       {"capabilities": [{"capability": "xbzrle", "state": True}]})
            # A cache as large as the RAM the guest writes (QEMU's advice:
            # size it to the working set); the writes land anywhere here.
            src.qmp.ok("migrate-set-parameters", {"xbzrle-cache-size": a.size})
        # A short downtime limit makes both runs iterate until the dirty set is
        # small, which is where re-sent pages (and XBZRLE) matter.
        src.qmp.ok("migrate-set-parameters", {"max-bandwidth": a.bandwidth << 20,
                                              "downtime-limit": 10})
        src.qmp.ok("migrate", {"uri": uri})
        deadline = time.monotonic() + 120
        while True:
            info = src.qmp.ok("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                src.qmp.ok("migrate_cancel")
                raise bl.Fail("no convergence within 120 s (lower --dirty-rate)")
            time.sleep(0.05)
        if info.get("status") != "completed":
            raise bl.Fail("migration %s: %s" % (info.get("status"), info.get("error-desc")))
        sent = src.qmp.ok("x-vmig-query-migrate-bytes")["sent"]
        pages = info.get("xbzrle-cache", {}).get("pages", 0)
        return sent, info.get("total-time"), pages
    finally:
        src.quit()
        dst.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=bl.default_build())
    ap.add_argument("--vmm")
    ap.add_argument("--size", type=bl.parse_size, default=bl.parse_size("16M"),
                    help="guest RAM (default 16M: small enough that the guest rewrites its pages)")
    ap.add_argument("--dirty-rate", type=int, default=48, help="MiB/s the guest dirties")
    ap.add_argument("--bandwidth", type=int, default=64, help="max-bandwidth, MiB/s")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    a.vmm = a.vmm or os.path.join(a.build, "bin", "vmig-vmm")
    codec = subprocess.run([os.path.join(a.build, "bench", "xbzrle"), "--json"],
                           check=True, capture_output=True, text=True).stdout
    res = json.loads(codec)
    r = bl.reaper()
    d = r.tmpdir()
    try:
        src_ram = os.path.join(d, "src.ram")
        bl.make_content(src_ram, a.size, "random")
        plain, plain_ms, _ = one_migration(a, d, src_ram, False)
        xb, xb_ms, xb_pages = one_migration(a, d, src_ram, True)
    finally:
        r.cleanup()
    res.update({
        "migration_bytes_ratio": round(plain / xb, 3) if xb else None,
        "plain_bytes": plain, "xbzrle_bytes": xb,
        "plain_ms": plain_ms, "xbzrle_ms": xb_ms, "xbzrle_pages": xb_pages,
        "migration_size_bytes": a.size, "migration_dirty_mib_s": a.dirty_rate,
        "migration_bandwidth_mib_s": a.bandwidth,
    })
    if a.json:
        print(json.dumps(res))
    else:
        for k in ("encode_gbps_1pct", "scalar_encode_gbps_1pct", "decode_gbps_1pct",
                  "encode_gbps_10pct", "encode_gbps_50pct"):
            print("%-28s %s" % (k, res.get(k)))
        print("migration %d MiB, guest dirtying %d MiB/s, max-bandwidth %d MiB/s:"
              % (a.size >> 20, a.dirty_rate, a.bandwidth))
        print("  without xbzrle: %d bytes in %s ms" % (plain, plain_ms))
        print("  with xbzrle:    %d bytes in %s ms (%d xbzrle pages)" % (xb, xb_ms, xb_pages))
        print("  bytes ratio (without / with): %s" % res["migration_bytes_ratio"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
