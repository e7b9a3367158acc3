#!/usr/bin/env python3
"""tls.py - the TLS benchmark: migration throughput over TLS (x509, test CA
made by scripts/make-test-ca.sh) against plain, in the same run, for vmig
with no multifd and with 1 and 2 multifd channels, and for QEMU 7.2 over
TLS and plain.

Random RAM (incompressible: what TLS costs shows), pre-allocated on both
sides, loopback tcp, destination started with -incoming defer, medians of
--runs. Every run's RAM is verified.

  bench/tls.py [--build DIR] [--size 256M] [--runs 3] [--only vmig|qemu]
               [--json] [--smoke]

--json prints one object: tls_vmig_mbps, plain_vmig_mbps, tls_qemu_mbps,
plain_qemu_mbps (no multifd), tls_multifd1_vmig_mbps,
tls_multifd2_vmig_mbps, tls_multifd2_qemu_mbps (Mbit/s of guest RAM: size
x 8 / time from migrate until the destination runs), and the ratios
tls_over_plain_vmig, tls_vmig_over_qemu."""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PROG = "bench/tls.py"
# (key, tls, multifd channels: 0 = off)
CONFIGS = (("plain", False, 0), ("tls", True, 0), ("tls_multifd1", True, 1),
           ("tls_multifd2", True, 2))
REQUIRED_KEYS = ["tls_vmig_mbps", "plain_vmig_mbps", "tls_qemu_mbps", "plain_qemu_mbps",
                 "tls_multifd2_vmig_mbps"]
VMIG_KEYS = ["tls_vmig_mbps", "plain_vmig_mbps", "tls_multifd2_vmig_mbps"]


def make_ca(d):
    ca = os.path.join(d, "ca")
    script = os.path.join(bl.REPO, "scripts", "make-test-ca.sh")
    p = subprocess.run(["sh", script, ca], capture_output=True, text=True)
    if p.returncode != 0:
        raise bl.Fail("make-test-ca.sh: %s" % p.stderr.strip())
    return ca


def one(a, engine, binary, d, src, ca, tls, channels):
    def setup(sq, dq):
        for q, side in ((sq, "client"), (dq, "server")):
            if tls:
                q.ok("object-add", {"qom-type": "tls-creds-x509", "id": "tls0",
                                    "dir": os.path.join(ca, side), "endpoint": side,
                                    "verify-peer": True})
                q.ok("migrate-set-parameters", {"tls-creds": "tls0"})
            if channels:
                q.ok("migrate-set-capabilities",
                     {"capabilities": [{"capability": "multifd", "state": True}]})
                q.ok("migrate-set-parameters", {"multifd-channels": channels})
    return bl.timed_migration(engine, binary, d, src, a.size_bytes, setup)["dst_running"]


def main(argv):
    ap = bl.arg_parser(__doc__.split("\n")[0], "guest RAM (default 256M)",
                       "runs per engine and configuration (default 3)")
    ap.add_argument("--smoke", action="store_true", help="32M, one run")
    ap.set_defaults(size="256M")
    a = ap.parse_args(argv)
    if a.smoke:
        a.size, a.runs = "32M", 1
    bl.finish_args(ap, a)
    engines, binaries, notes, vmig_missing = bl.find_engines(PROG, a)
    res = {"size_bytes": a.size_bytes, "loadavg_1min": bl.load_average(PROG, "throughput")}
    for key, _, _ in CONFIGS:
        for e in ("vmig", "qemu"):
            res["%s_%s_mbps" % (key, e)] = None
    res["tls_over_plain_vmig"] = res["tls_vmig_over_qemu"] = None
    failures, unsupported = [], {}
    r = bl.reaper()
    d = r.tmpdir()
    try:
        ca = make_ca(d)
        src = os.path.join(d, "src.ram")
        bl.make_content(src, a.size_bytes, "random")
        for key, tls, channels in CONFIGS:
            got = {e: [] for e in engines}
            for e, _, ms in bl.alternating_runs(
                    PROG, engines, a.runs,
                    lambda e: one(a, e, binaries[e], d, src, ca, tls, channels),
                    failures, unsupported, label=key + ": "):
                got[e].append(ms)
            for e in engines:
                ms = bl.median(got[e])
                if ms:
                    res["%s_%s_mbps" % (key, e)] = bl.rnd(a.size_bytes * 8 / 1e6 / (ms / 1000), 1)
        t, p, q = res["tls_vmig_mbps"], res["plain_vmig_mbps"], res["tls_qemu_mbps"]
        if t and p:
            res["tls_over_plain_vmig"] = bl.rnd(t / p, 3)
        if t and q:
            res["tls_vmig_over_qemu"] = bl.rnd(t / q, 2)
    finally:
        r.cleanup()

    def table(res):
        print("TLS (x509, TLS 1.2), %d MiB random RAM, loopback tcp, medians of %d, Mbit/s"
              % (a.size_bytes >> 20, a.runs))
        print("%-14s %12s %12s" % ("", "vmig", "QEMU 7.2"))
        for key, _, _ in CONFIGS:
            print("%-14s %12s %12s" % (key, res["%s_vmig_mbps" % key], res["%s_qemu_mbps" % key]))
        print("vmig TLS / plain: %s; vmig / QEMU over TLS: %s"
              % (res["tls_over_plain_vmig"], res["tls_vmig_over_qemu"]))
        bl.print_footer(res)

    return bl.report(res, a, failures, unsupported, notes, vmig_missing, table)


if __name__ == "__main__":
    bl.run_main(PROG, main)
