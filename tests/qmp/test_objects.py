#!/usr/bin/env python3
"""test_objects.py - object-add / object-del over QMP against vmig-vmm, and
vmig-vmm --object; when QEMU 7.2 is installed, the same requests against it,
comparing reply shapes, error classes and texts.

  test_objects.py --vmm PATH [--make-ca scripts/make-test-ca.sh]
Exit status: 0 pass, 1 fail, 77 skipped (no openssl).
"""
import argparse
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp_py  # noqa: E402
from qmp_py import Fail, check  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def requests(ca):
    """(arguments, expected error desc or None for success), in order; the
    same list runs against vmig-vmm and QEMU 7.2."""
    return [
        ("object-add", {"qom-type": "tls-creds-x509", "id": "tls0", "dir": ca + "/server",
                        "endpoint": "server"}, None),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "tls1", "dir": ca + "/client",
                        "verify-peer": False}, None),
        ("object-add", {"qom-type": "tls-creds-psk", "id": "psk0", "dir": ca + "/psk",
                        "username": "alice"}, None),
        ("object-add", {"qom-type": "authz-list", "id": "az0", "policy": "deny",
                        "rules": [{"match": "CN=client,O=Example,C=US", "policy": "allow"},
                                  {"match": "CN=*", "policy": "deny", "format": "glob"}]},
         None),
        ("object-add", {"qom-type": "authz-simple", "id": "az1", "identity": "CN=client"}, None),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "tls0", "dir": ca + "/server",
                        "endpoint": "server"},
         "attempt to add duplicate property 'tls0' to object (type 'container')"),
        ("object-add", {"qom-type": "nosuch", "id": "x1"},
         "Parameter 'qom-type' does not accept value 'nosuch'"),
        ("object-add", {"id": "x1"}, "Parameter 'qom-type' is missing"),
        ("object-add", {"qom-type": "authz-simple", "identity": "x"},
         "Parameter 'id' is missing"),
        ("object-add", {"qom-type": "authz-simple", "id": "1x", "identity": "x"},
         "Parameter 'id' expects an identifier"),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "x2"}, "Missing 'dir' property value"),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "x3", "dir": "/nonexistent"},
         "Unable to access credentials /nonexistent/ca-cert.pem: No such file or directory"),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "x4", "dir": ca + "/server",
                        "endpoint": "bogus"},
         "Parameter 'endpoint' does not accept value 'bogus'"),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "x5", "dir": ca + "/server",
                        "bogus": 1}, "Parameter 'bogus' is unexpected"),
        ("object-add", {"qom-type": "tls-creds-x509", "id": "x6", "dir": ca + "/server",
                        "verify-peer": "yes"},
         "Invalid parameter type for 'verify-peer', expected: boolean"),
        ("object-add", {"qom-type": "tls-creds-psk", "id": "x7", "dir": ca + "/server"},
         "Unable to access credentials %s/server/keys.psk: No such file or directory" % ca),
        ("object-add", {"qom-type": "authz-list", "id": "x8", "policy": "bogus"},
         "Parameter 'policy' does not accept value 'bogus'"),
        ("object-add", {"qom-type": "authz-list", "id": "x9", "rules": [{"match": "x"}]},
         "Parameter 'rules[0].policy' is missing"),
        ("object-add", {"qom-type": "authz-simple", "id": "x10"},
         "Parameter 'identity' is missing"),
        ("object-del", {"id": "nosuch"}, "object 'nosuch' not found"),
        ("object-del", {}, "Parameter 'id' is missing"),
        ("object-del", {"id": "tls0"}, None),
        ("object-del", {"id": "tls0"}, "object 'tls0' not found"),
        ("object-del", {"id": "az0"}, None),
        # The id is free again after a del.
        ("object-add", {"qom-type": "authz-simple", "id": "tls0", "identity": "y"}, None),
    ]


def run_requests(c, ca, who):
    replies = []
    for cmd, args, want in requests(ca):
        r = c.execute(cmd, args)
        replies.append(r)
        if want is None:
            check(r.get("return") == {}, "%s: %s %r: %r" % (who, cmd, args, r))
        else:
            err = r.get("error")
            check(err is not None, "%s: %s %r did not fail: %r" % (who, cmd, args, r))
            check(err.get("class") == "GenericError" and err.get("desc") == want,
                  "%s: %s %r: got %r, want GenericError %r" % (who, cmd, args, err, want))
    return replies


def vmm_cases(a, d, ca):
    with qmp_py.start_vmm(a.vmm, d) as p:
        c = p.client()
        check("object-add" in [x["name"] for x in c.ok("query-commands")],
              "object-add not in query-commands")
        replies = run_requests(c, ca, "vmig-vmm")
        c.ok("quit")
        check(p.wait() == 0, "exit status")
    # --object: made before the monitor; a second object-add of its id fails.
    with qmp_py.start_vmm(a.vmm, d, extra=[
            "--object", "tls-creds-x509,id=tls0,dir=%s/server,endpoint=server,verify-peer=off"
            % ca,
            "--object", "authz-list,id=az0,rules.0.match=CN=*,,O=Example,,C=US,"
            "rules.0.policy=allow,rules.0.format=glob"]) as p:
        c = p.client()
        err = c.error("object-add", {"qom-type": "authz-simple", "id": "az0", "identity": "x"})
        check(err["desc"] == "attempt to add duplicate property 'az0' to object "
              "(type 'container')", "--object az0 not there: %r" % err)
        c.ok("object-del", {"id": "tls0"})
        c.ok("object-del", {"id": "az0"})
        c.ok("quit")
        check(p.wait() == 0, "exit status")
    # A bad --object: exit 1, one line naming the problem.
    sock = "unix:" + os.path.join(d, "bad.sock")
    r = subprocess.run([a.vmm, "--machine", "none", "--memory", "16M", "--qmp", sock,
                        "--object", "tls-creds-x509,id=t,dir=/nonexistent"],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 1, "bad --object: exit %d" % r.returncode)
    check(r.stderr.strip() == "vmig-vmm: --object tls-creds-x509,id=t,dir=/nonexistent: "
          "Unable to access credentials /nonexistent/ca-cert.pem: No such file or directory",
          "bad --object message %r" % r.stderr)
    r = subprocess.run([a.vmm, "--machine", "none", "--memory", "16M", "--qmp", sock,
                        "--object", "authz-list,id=a,policy=maybe"],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "Parameter 'policy' does not accept value 'maybe'" in r.stderr,
          "bad policy: %d %r" % (r.returncode, r.stderr))
    return replies


def qemu_cases(d, ca, vmm_replies):
    """Compare with QEMU 7.2's replies; False when QEMU is missing."""
    if not qmp_py.qemu_binary():
        print("test_objects: vmig-vmm's replies checked; QEMU not installed, "
              "comparison skipped")
        return False
    with qmp_py.start_qemu(d) as p:
        c = p.client()
        replies = run_requests(c, ca, "QEMU 7.2")
        for (cmd, args, _), want, got in zip(requests(ca), replies, vmm_replies):
            diff = qmp_py.shape_diff({k: v for k, v in want.items() if k != "id"},
                                     {k: v for k, v in got.items() if k != "id"})
            check(not diff, "%s %r: vmig-vmm's reply differs from QEMU's: %s" % (cmd, args, diff))
        c.ok("quit")
        rc = p.wait()
        check(rc == 0, "QEMU exited with %r after quit" % (rc,))
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--make-ca", default=os.path.join(SRC, "scripts", "make-test-ca.sh"))
    a = ap.parse_args()
    if not shutil.which("openssl"):
        print("test_objects: openssl not found, cannot make credentials: skipped")
        return 77
    d = qmp_py.tmpdir()
    try:
        ca = os.path.join(d, "creds")
        subprocess.run(["sh", a.make_ca, ca], check=True, timeout=120)
        replies = vmm_cases(a, d, ca)
        if not qemu_cases(d, ca, replies):
            return 77  # half the test ran: a skip, not a pass
    except (Fail, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        print("test_objects: FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("test_objects: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
