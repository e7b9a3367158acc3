#!/usr/bin/env python3
"""smoke_check.py - the ctest check of a migration benchmark (bench/precopy_smoke,
bench/monitor_latency_smoke): it runs, and prints exactly one valid JSON object
with every key. No timing is checked.

  smoke_check.py BENCH.py [ARGS...]

Runs `python3 BENCH.py --smoke --json ARGS...`; passes exit status 77 (a
prerequisite is missing: vmig-vmm not built or not able to migrate yet) through;
then requires exit 0, one JSON object on stdout holding every key of the
benchmark's REQUIRED_KEYS, numbers for its VMIG_KEYS, and numbers for the qemu
keys too when QEMU is installed (else null). Exit 0 pass, 1 fail, 77 skip.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True


def main():
    if len(sys.argv) < 2:
        print("usage: smoke_check.py BENCH.py [ARGS...]", file=sys.stderr)
        return 2
    script, extra = sys.argv[1], sys.argv[2:]
    spec = importlib.util.spec_from_file_location("bench_under_test", script)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    p = subprocess.run([sys.executable, script, "--smoke", "--json"] + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    err = p.stderr.decode(errors="replace")
    sys.stderr.write(err)
    if p.returncode == 77:
        print("SKIP: a prerequisite is missing (see above)")
        return 77
    if p.returncode != 0:
        print("FAIL: %s exited %d" % (os.path.basename(script), p.returncode))
        return 1
    out = p.stdout.decode(errors="replace").strip()
    try:
        obj = json.loads(out)
    except ValueError as e:
        print("FAIL: stdout is not one JSON object (%s): %r" % (e, out[:400]))
        return 1
    if not isinstance(obj, dict):
        print("FAIL: the JSON is not an object")
        return 1
    bad = [k for k in mod.REQUIRED_KEYS if k not in obj]
    if bad:
        print("FAIL: keys missing: %s" % ", ".join(bad))
        return 1

    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    bad = [k for k in mod.VMIG_KEYS if not num(obj[k])]
    qemu = extra[extra.index("--qemu") + 1] if "--qemu" in extra[:-1] else "qemu-system-x86_64"
    have_qemu = shutil.which(qemu) is not None and "--only" not in extra
    if have_qemu:
        bad += [k for k in mod.REQUIRED_KEYS if k not in mod.VMIG_KEYS and not num(obj[k])]
    else:
        bad += [k for k in mod.REQUIRED_KEYS if "qemu" in k and obj[k] is not None]
    if bad:
        print("FAIL: not numbers (or not null without QEMU): %s" %
              ", ".join("%s=%r" % (k, obj[k]) for k in bad))
        return 1
    print("PASS: %d keys, e.g. %s" % (len(obj), ", ".join("%s=%s" % (k, obj[k]) for k in mod.REQUIRED_KEYS[:3])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
