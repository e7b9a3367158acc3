#!/usr/bin/env python3
"""gen_incoming_corpus.py — writes the seeds of fuzz/corpus/fuzz_incoming/
for fuzz/fuzz_incoming.c: real migration streams of the demo machine
(vmig-vmm --machine demo --accel sim --memory 64K, as the harness's
destination), each migrated to file: with one variation: an idle guest, a
guest walking its RAM, a paused one, page compression, XBZRLE, a small
max-bandwidth (several iterations). QEMU 7.2's own streams seed the other
stream harnesses (scripts/make-seed-corpus.sh): a -M none stream names
another machine and stops at the configuration here.

usage: fuzz/gen_incoming_corpus.py --vmm build/bin/vmig-vmm [OUTDIR]
       (default OUTDIR: fuzz/corpus/fuzz_incoming)
"""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "migration"))
import mig_py  # noqa: E402

SEEDS = {
    # name: (extra vmig-vmm arguments, capabilities, parameters)
    "demo-idle": (["--workload", "idle"], {}, {}),
    "demo-pattern": (["--workload", "pattern"], {}, {}),
    "demo-paused": (["-S"], {}, {}),
    "demo-compress": (["--workload", "pattern"], {"compress": True}, {}),
    "demo-xbzrle": (["--workload", "pattern"], {"xbzrle": True},
                    {"max_bandwidth": 512 << 10}),
    "demo-slow": (["--workload", "pattern"], {}, {"max_bandwidth": 256 << 10}),
}


def save(a, d, name, extra, caps, params, out):
    sock = os.path.join(d, name + ".qmp")
    argv = [a.vmm, "--machine", "demo", "--accel", "sim", "--memory", "64K",
            "--qmp", "unix:" + sock] + extra
    vm = mig_py.VM("vmig", argv, sock, d, name).connect()
    if caps:
        vm.set_caps(**caps)
    if params:
        vm.set_params(**params)
    path = os.path.join(d, name + ".stream")
    vm.ok("migrate", {"uri": "file:" + path})
    mig_py.wait_mig(vm, "completed", timeout=60)
    vm.quit()
    shutil.copyfile(path, os.path.join(out, name))
    print("  %-16s %7d bytes" % (name, os.path.getsize(path)))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmm", required=True)
    ap.add_argument("out", nargs="?", default=os.path.join(HERE, "corpus", "fuzz_incoming"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    d = mig_py.tmpdir()
    try:
        for name, (extra, caps, params) in SEEDS.items():
            save(a, d, name, extra, caps, params, a.out)
    finally:
        mig_py.kill_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
