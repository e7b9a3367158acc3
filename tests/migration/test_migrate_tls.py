#!/usr/bin/env python3
"""test_migrate_tls.py - migration over TLS (parameters tls-creds,
tls-hostname, tls-authz; objects tls-creds-x509, tls-creds-psk, authz-list
added over QMP with object-add) between vmig-vmm processes and with QEMU 7.2
(-M none,memory-backend=mem). Credentials are made by
scripts/make-test-ca.sh in the test's private directory. 32 MiB of random
RAM; the destination is started with -incoming defer; loopback tcp.

  test_migrate_tls.py CASE --vmm PATH
CASE:
  x509            vmig -> vmig, x509 with verify-peer on both sides: RAM equal
  x509-multifd    the same with multifd, 2 channels (each one wrapped)
  psk             vmig -> vmig, tls-creds-psk (username qemu): RAM equal
  wrong-ca        the source's CA is another one: refused
  expired         the destination's certificate expired in 2020: refused
  wronghost       the destination's certificate is for wrong.example: refused
  wrong-tls-hostname  tls-hostname set to a name the certificate lacks: refused
  authz-denied    destination tls-authz = authz-list allowing only
                  CN=client,O=Example,C=US; the source uses other-client
                  (CN=intruder): refused
  plain-to-tls    plain source to a TLS destination: refused
  tls-to-plain    TLS source to a plain destination: refused
  vmig-to-qemu    vmig-vmm source -> QEMU, x509, multifd 2 channels: RAM equal
  qemu-to-vmig    QEMU source -> vmig-vmm, x509, multifd 2 channels: RAM equal
  authz-allowed   the same authz-list, the source uses client: RAM equal
A refused case: the source's migration ends "failed" within 20 s, it still
runs (query-status running) and its RAM file is unchanged; both sides'
errors are printed; error-desc must name the reason where the source can
know it (the certificate checks the client makes; TLS source to plain
destination: the handshake), and the destination's load fails (exit 1) with
its reason on stderr (the handshake, the client not authorized, not a
migration stream).
Exit status: 0 pass, 1 fail, 77 openssl or QEMU (QEMU cases) not installed.
"""
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import check  # noqa: E402

MEM = "32M"
CHANNELS = 2
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CLIENT_DN = "CN=client,O=Example,C=US"


def make_ca(d):
    if not shutil.which("openssl"):
        raise M.Skip("openssl not found (needed by scripts/make-test-ca.sh)")
    ca = os.path.join(d, "ca")
    p = subprocess.run(["sh", os.path.join(REPO, "scripts", "make-test-ca.sh"), ca],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "make-test-ca.sh failed: %s" % p.stderr.strip())
    return ca


def x509(vm, ca, sub, endpoint, oid="tls0"):
    vm.ok("object-add", {"qom-type": "tls-creds-x509", "id": oid,
                         "dir": os.path.join(ca, sub), "endpoint": endpoint,
                         "verify-peer": True})
    vm.set_params(**{"tls-creds": oid})


def psk(vm, ca, endpoint, oid="tls0"):
    vm.ok("object-add", {"qom-type": "tls-creds-psk", "id": oid,
                         "dir": os.path.join(ca, "psk"), "endpoint": endpoint,
                         "username": "qemu"} if endpoint == "client" else
          {"qom-type": "tls-creds-psk", "id": oid, "dir": os.path.join(ca, "psk"),
           "endpoint": endpoint})
    vm.set_params(**{"tls-creds": oid})


def multifd_on(vm):
    vm.set_caps(multifd=True)
    vm.set_params(**{"multifd-channels": CHANNELS})


def rams(d):
    src, dst = os.path.join(d, "src.ram"), os.path.join(d, "dst.ram")
    M.make_ram(src, MEM, "random")
    M.make_ram(dst, MEM, 0x5A)
    return src, dst


def start_pair(a, d, dst_kind="vmig", src_kind="vmig"):
    src_ram, dst_ram = rams(d)
    if dst_kind == "vmig":
        dst = M.start_vmm(a, d, "vmig-dst", MEM, dst_ram, incoming="defer")
    else:
        dst = M.start_qemu(d, "qemu-dst", MEM, dst_ram, incoming="defer")
    if src_kind == "vmig":
        src = M.start_vmm(a, d, "vmig-src", MEM, src_ram)
    else:
        src = M.start_qemu(d, "qemu-src", MEM, src_ram)
    return src, dst, src_ram, dst_ram


def show_params(vm):
    p = vm.ok("query-migrate-parameters")
    return {k: p.get(k) for k in ("tls-creds", "tls-hostname", "tls-authz")}


def succeed(src, dst, src_ram, dst_ram, uri):
    dst.ok("migrate-incoming", {"uri": uri})
    M.migrate(src, uri)
    info = M.wait_mig(src, "completed", timeout=40)
    # With multifd on, the pages must have gone on the (TLS) channels.
    caps = {c["capability"]: c["state"] for c in src.ok("query-migrate-capabilities")}
    if caps.get("multifd"):
        mfb = info.get("ram", {}).get("multifd-bytes", 0)
        check(mfb > 0, "multifd on but multifd-bytes %r: %s" % (mfb, json.dumps(info)))
    M.wait_runstate(src, "postmigrate")
    M.wait_mig(dst, "completed", timeout=20)
    M.wait_runstate(dst, "running")
    dst.quit(timeout=20)
    src.quit(timeout=20)
    M.check_same_ram(src_ram, dst_ram, "%s's RAM after migrating from %s over TLS" %
                     (dst.name, src.name))


def refused(src, dst, src_ram, uri, what, needles=(), dst_needle=None):
    """The source fails cleanly and keeps running with its RAM unchanged;
    error-desc contains one of needles (case-insensitive) when given; the
    vmig-vmm destination fails its load (exit 1) with dst_needle on stderr."""
    h = M.file_hash(src_ram)
    dst.ok("migrate-incoming", {"uri": uri})
    M.migrate(src, uri)
    info = M.wait_mig(src, ("failed", "completed"), timeout=20, allow_failed=True)
    print("%s: source query-migrate: %s" % (what, json.dumps(info)))
    # What the destination says (it may have exited after a failed load).
    if dst.exited():
        print("%s: destination exited %d; stderr: %s" % (what, dst.proc.returncode,
                                                         dst.stderr_text()[-1000:]))
    else:
        try:
            dinfo = dst.mig()
            print("%s: destination query-migrate: %s, run state %s" %
                  (what, json.dumps(dinfo), dst.runstate()))
        except Exception as e:  # noqa: BLE001 - only printed
            print("%s: destination QMP: %s" % (what, e))
        print("%s: destination stderr: %s" % (what, dst.stderr_text()[-1000:]))
    check(info["status"] == "failed", "%s: source migration %s, want failed" %
          (what, info["status"]))
    desc = info.get("error-desc", "")
    check(desc, "%s: no error-desc" % what)
    if needles:
        check(any(n.lower() in desc.lower() for n in needles),
              "%s: error-desc %r names none of %r" % (what, desc, needles))
    if dst_needle:
        rc = dst.wait_exit(10)
        err = dst.stderr_text()
        check(rc == 1 and dst_needle in err, "%s: destination exit %d, stderr %r; want 1 and %r"
              % (what, rc, err, dst_needle))
    check(src.runstate() == "running", "%s: source run state %r after the failure" %
          (what, src.runstate()))
    check(M.file_hash(src_ram) == h, "%s: the source's RAM changed" % what)
    src.quit(timeout=20)


def vmig_pair(a, d, src_setup, dst_setup, expect_ok, what="", needles=(), dst_needle=None):
    ca = make_ca(d)
    src, dst, src_ram, dst_ram = start_pair(a, d)
    dst_setup(dst, ca)
    src_setup(src, ca)
    print("source %s, destination %s" % (show_params(src), show_params(dst)))
    uri = M.tcp_uri()
    if expect_ok:
        succeed(src, dst, src_ram, dst_ram, uri)
    else:
        refused(src, dst, src_ram, uri, what, needles, dst_needle)


def case_x509(a, d, mf=False):
    def s(vm, ca):
        x509(vm, ca, "client", "client")
        if mf:
            multifd_on(vm)

    def t(vm, ca):
        x509(vm, ca, "server", "server")
        if mf:
            multifd_on(vm)
    vmig_pair(a, d, s, t, True)


def case_psk(a, d):
    vmig_pair(a, d, lambda vm, ca: psk(vm, ca, "client"), lambda vm, ca: psk(vm, ca, "server"),
              True)


HS = "TLS handshake"


def case_wrong_ca(a, d):
    vmig_pair(a, d, lambda vm, ca: x509(vm, ca, "wrong-ca", "client"),
              lambda vm, ca: x509(vm, ca, "server", "server"), False, "wrong CA", ("not trusted",), HS)


def case_expired(a, d):
    vmig_pair(a, d, lambda vm, ca: x509(vm, ca, "client", "client"),
              lambda vm, ca: x509(vm, ca, "expired", "server"), False, "expired",
              ("expired",), HS)


def case_wronghost(a, d):
    vmig_pair(a, d, lambda vm, ca: x509(vm, ca, "client", "client"),
              lambda vm, ca: x509(vm, ca, "wronghost", "server"), False, "wrong host",
              ("does not match host '127.0.0.1'",), HS)


def case_wrong_tls_hostname(a, d):
    def s(vm, ca):
        x509(vm, ca, "client", "client")
        vm.set_params(**{"tls-hostname": "nosuch.example"})
    vmig_pair(a, d, s, lambda vm, ca: x509(vm, ca, "server", "server"), False,
              "tls-hostname", ("does not match host 'nosuch.example'",), HS)


def case_authz_denied(a, d):
    def t(vm, ca):
        x509(vm, ca, "server", "server")
        vm.ok("object-add", {"qom-type": "authz-list", "id": "authz0", "policy": "deny",
                             "rules": [{"match": CLIENT_DN, "policy": "allow"}]})
        vm.set_params(**{"tls-authz": "authz0"})
    # The server checks the client's DN after the handshake: the source only
    # sees the connection closed.
    vmig_pair(a, d, lambda vm, ca: x509(vm, ca, "other-client", "client"), t, False,
              "authz denied", (), "TLS client 'CN=intruder,O=Example,C=US' is not authorized")


def case_authz_allowed(a, d):
    def t(vm, ca):
        x509(vm, ca, "server", "server")
        vm.ok("object-add", {"qom-type": "authz-list", "id": "authz0", "policy": "deny",
                             "rules": [{"match": CLIENT_DN, "policy": "allow"}]})
        vm.set_params(**{"tls-authz": "authz0"})
    vmig_pair(a, d, lambda vm, ca: x509(vm, ca, "client", "client"), t, True)


def case_plain_to_tls(a, d):
    vmig_pair(a, d, lambda vm, ca: None, lambda vm, ca: x509(vm, ca, "server", "server"),
              False, "plain to TLS", (), HS)


def case_tls_to_plain(a, d):
    vmig_pair(a, d, lambda vm, ca: x509(vm, ca, "client", "client"), lambda vm, ca: None,
              False, "TLS to plain", ("TLS handshake",), "Not a migration stream")


def qemu_interop(a, d, **kinds):
    """x509 and multifd between vmig-vmm and QEMU 7.2 (kinds: src_kind or
    dst_kind="qemu")."""
    M.require_qemu()
    ca = make_ca(d)
    src, dst, src_ram, dst_ram = start_pair(a, d, **kinds)
    x509(dst, ca, "server", "server")
    multifd_on(dst)
    x509(src, ca, "client", "client")
    multifd_on(src)
    succeed(src, dst, src_ram, dst_ram, M.tcp_uri())


def case_vmig_to_qemu(a, d):
    qemu_interop(a, d, dst_kind="qemu")


def case_qemu_to_vmig(a, d):
    qemu_interop(a, d, src_kind="qemu")


CASES = {
    "x509": case_x509,
    "x509-multifd": lambda a, d: case_x509(a, d, mf=True),
    "psk": case_psk,
    "authz-allowed": case_authz_allowed,
    "wrong-ca": case_wrong_ca,
    "expired": case_expired,
    "wronghost": case_wronghost,
    "wrong-tls-hostname": case_wrong_tls_hostname,
    "authz-denied": case_authz_denied,
    "plain-to-tls": case_plain_to_tls,
    "tls-to-plain": case_tls_to_plain,
    "vmig-to-qemu": case_vmig_to_qemu,
    "qemu-to-vmig": case_qemu_to_vmig,
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_tls", CASES, __doc__, limit=60))
