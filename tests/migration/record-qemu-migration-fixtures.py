#!/usr/bin/env python3
"""record-qemu-migration-fixtures.py - record what QEMU 7.2 answers to the
migration commands, for vmig's capability/parameter unit tests
(test_params_*.c) and the shape test test_qmp_shapes.py.

  record-qemu-migration-fixtures.py [--out DIR] [--qemu PATH]

Every QEMU runs `-M none` with 64 MiB of file-backed RAM (spec/qemu-7.2-lab.md
section 1), except the background-snapshot cases, which need RAM that 7.2 can
write-protect (`memory-backend-ram`; on file-backed RAM 7.2 only says
"Background-snapshot is not compatible with guest memory configuration").
Writes into DIR (default tests/migration/fixtures/qemu-7.2):

  query-migrate-capabilities.json  query-migrate-parameters.json  (defaults)
  query-migrate-STATE.json         none, active, pre-switchover, completed,
                                   failed, cancelled (source) and
                                   dest-listening, dest-active, dest-completed
  events-FLOW.json                 the events of the flows below, in order
                                   (events-incoming-table: the destination
                                   through the migrate-incoming table cases)
  errors-COMMAND.json              the table of bad inputs (below) with QEMU's
                                   reply to each
  qmp-schema-migration.json        query-qmp-schema's entities of the
                                   migration commands and events and the
                                   types they reach

Flows (`events` on; RAM random so that 1 MiB/s keeps the source active):
  completed  source with pause-before-switchover and max-bandwidth 1 MiB/s to
             a destination started with -incoming defer + migrate-incoming
             tcp:127.0.0.1:0; queried while active, then bandwidth raised,
             queried in pre-switchover, migrate-continue, queried completed
  failed     migrate to a closed tcp port
  cancelled  migrate at 1 MiB/s, migrate_cancel

A table case is {"name", "command", "arguments", "setup"?, "state"?,
"memory"?, "fresh"?, "qemu": QEMU's reply, "after"?, "vmig": what vmig must
reply}. "setup" is run first on a fresh configuration (all capabilities off,
parameters at their defaults); "state" names the flow state the case is run
in ("active", "pre-switchover", "completed"; absent: an idle source;
"incoming": a destination started with -incoming defer, cases run in table
order). "vmig_setup": "direct": vmig cannot reach the setup's state over
QMP yet (it sets what it does not implement): the unit tests write the
configuration directly, the shape test skips the case. "fresh": the case runs alone on a newly started VM with `events` on,
and "after" holds what followed it: {"query-migrate": reply, "events":
[[name, data]...]} (7.2 moves a source to failed even for a migrate it
refuses with a bad URI).
"vmig" is "qemu" (the same class and text as QEMU), "error" (any error: the
text is vmig's own), or a literal reply ({"return": {}} or {"error": ...}):
the places where vmig knowingly differs (what it does not implement yet, and
its checks of multifd-zlib-level/-zstd-level, which 7.2 lacks). The tests
supersede the "vmig" of some recorded cases (pt_overrides in
params_test.h, VMIG_OVERRIDES in test_qmp_shapes.py, by case name): the
files recorded before vmig implemented multifd still name its old refusals.
Values in query replies (times, counters) are what QEMU said; the tests
compare keys and JSON types, and exact values only where QEMU fixes them.
Exit status: 0 written, 1 failure, 77 QEMU not installed.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
import qmp_py  # noqa: E402
from qmp_py import check, drain_events, free_port, wait_migrate_status  # noqa: E402

MiB = 1 << 20
CAPS = ["xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress", "events",
        "postcopy-ram", "x-colo", "release-ram", "block", "return-path",
        "pause-before-switchover", "multifd", "dirty-bitmaps", "postcopy-blocktime",
        "late-block-activate", "x-ignore-shared", "validate-uuid", "background-snapshot",
        "zero-copy-send", "postcopy-preempt"]
# QEMU 7.2's defaults, to put a configuration back between table cases.
DEFAULT_PARAMS = {
    "announce-initial": 50, "announce-max": 550, "announce-rounds": 5, "announce-step": 100,
    "compress-level": 1, "compress-threads": 8, "compress-wait-thread": True,
    "decompress-threads": 2, "throttle-trigger-threshold": 50, "cpu-throttle-initial": 20,
    "cpu-throttle-increment": 10, "cpu-throttle-tailslow": False, "tls-creds": "",
    "tls-hostname": "", "tls-authz": "", "max-bandwidth": 128 * MiB, "downtime-limit": 300,
    "x-checkpoint-delay": 20000, "block-incremental": False, "multifd-channels": 2,
    "xbzrle-cache-size": 64 * MiB, "max-postcopy-bandwidth": 0, "max-cpu-throttle": 99,
    "multifd-compression": "none", "multifd-zlib-level": 1, "multifd-zstd-level": 1,
}


def unsupported_param(name):
    return {"error": {"class": "GenericError",
                      "desc": "Parameter '%s' is not supported by vmig yet" % name}}


def unsupported_cap(name):
    return {"error": {"class": "GenericError",
                      "desc": "Capability '%s' is not supported by vmig yet" % name}}


def range_error(field, what):
    return {"error": {"class": "GenericError",
                      "desc": "Parameter '%s' expects %s" % (field, what)}}


def caps(*pairs):
    return {"capabilities": [{"capability": c, "state": s} for c, s in pairs]}


def case(name, command, arguments, vmig="qemu", **kw):
    c = {"name": name, "command": command, "arguments": arguments, "vmig": vmig}
    c.update(kw)
    return c


SP = "migrate-set-parameters"
SC = "migrate-set-capabilities"


def param_cases():
    out = []
    # Range checks of 7.2, one per bound (texts name the C field).
    for k, bad in [("compress-level", 10), ("compress-threads", 0), ("decompress-threads", 0),
                   ("throttle-trigger-threshold", 0), ("throttle-trigger-threshold", 101),
                   ("cpu-throttle-initial", 0), ("cpu-throttle-initial", 100),
                   ("cpu-throttle-increment", 0), ("cpu-throttle-increment", 100),
                   ("downtime-limit", 2000001), ("downtime-limit", -1),
                   ("multifd-channels", 0),
                   ("xbzrle-cache-size", 0), ("xbzrle-cache-size", 4095),
                   ("xbzrle-cache-size", 12288), ("max-cpu-throttle", 19),
                   ("max-cpu-throttle", 100), ("announce-initial", 100001),
                   ("announce-max", 100001), ("announce-rounds", 1001),
                   ("announce-step", 0), ("announce-step", 10001)]:
        out.append(case("range %s %s" % (k, bad), SP, {k: bad}))
    # Type checks (the schema's).
    for k, bad in [("compress-level", 256), ("compress-level", -1), ("decompress-threads", 256),
                   ("cpu-throttle-initial", 256), ("max-cpu-throttle", 256),
                   ("multifd-channels", 256), ("multifd-zlib-level", 256),
                   ("x-checkpoint-delay", 4294967296), ("x-checkpoint-delay", -1),
                   ("max-bandwidth", 1.5), ("max-bandwidth", "1"), ("announce-step", 1.5),
                   ("compress-wait-thread", 1), ("cpu-throttle-tailslow", "yes"),
                   ("tls-creds", 1), ("multifd-compression", "lz4"),
                   ("multifd-compression", 1), ("block-bitmap-mapping", {}),
                   ("nosuch", 1)]:
        out.append(case("type %s %s" % (k, json.dumps(bad)), SP, {k: bad}))
    out.append(case("bitmap missing member", SP,
                    {"block-bitmap-mapping": [{"node-name": "x", "alias": "y"}]}))
    out.append(case("bitmap missing alias", SP,
                    {"block-bitmap-mapping": [{"node-name": "x", "alias": "y",
                                               "bitmaps": [{"name": "b"}]}]}))
    # Order of the checks: the first failing one in 7.2's order, whatever
    # the request's order; checks apply to the resulting full set.
    for args in [{"announce-step": 0, "compress-level": 10},
                 {"compress-level": 10, "compress-threads": 0},
                 {"decompress-threads": 0, "compress-threads": 0},
                 {"throttle-trigger-threshold": 0, "decompress-threads": 0},
                 {"cpu-throttle-initial": 0, "throttle-trigger-threshold": 0},
                 {"cpu-throttle-increment": 0, "cpu-throttle-initial": 0},
                 {"downtime-limit": 3000000, "cpu-throttle-increment": 0},
                 {"multifd-channels": 0, "downtime-limit": 3000000},
                 {"xbzrle-cache-size": 3, "multifd-channels": 0},
                 {"max-cpu-throttle": 100, "xbzrle-cache-size": 3},
                 {"announce-initial": 100001, "max-cpu-throttle": 100},
                 {"announce-max": 100001, "announce-initial": 100001},
                 {"announce-rounds": 1001, "announce-max": 100001},
                 {"announce-step": 0, "announce-rounds": 1001},
                 {"downtime-limit": 1234, "compress-level": 10},
                 {"compress-level": 10, "nosuch": 1},
                 {"compress-level": 300, "cpu-throttle-initial": 0}]:
        out.append(case("order %s" % " ".join(sorted(args)), SP, args))
    out.append(case("full set: max-cpu-throttle below a new cpu-throttle-initial", SP,
                    {"cpu-throttle-initial": 50}, setup=[[SP, {"max-cpu-throttle": 30}]]))
    out.append(case("full set: both changed together", SP,
                    {"cpu-throttle-initial": 50, "max-cpu-throttle": 60}))
    out.append(case("full set: max-cpu-throttle below the current initial", SP,
                    {"max-cpu-throttle": 30}, setup=[[SP, {"cpu-throttle-initial": 40}]]))
    # Accepted by both (vmig implements or stores them).
    for args in [{}, {"max-bandwidth": 1 * MiB}, {"max-bandwidth": -1},
                 {"max-bandwidth": 4294967296}, {"downtime-limit": 2000000},
                 {"downtime-limit": 0}, {"throttle-trigger-threshold": 1},
                 {"throttle-trigger-threshold": 100}, {"cpu-throttle-initial": 1},
                 {"cpu-throttle-initial": 99}, {"cpu-throttle-increment": 99},
                 {"cpu-throttle-tailslow": True}, {"max-cpu-throttle": 20},
                 {"announce-initial": 100000, "announce-max": 0, "announce-rounds": 1000,
                  "announce-step": 10000},
                 {"announce-step": 1}, {"tls-creds": None, "tls-hostname": None,
                                        "tls-authz": None},
                 {"tls-creds": ""}, {"block-bitmap-mapping": []},
                 # Not implemented by vmig, but their defaults are accepted.
                 {"compress-level": 1, "compress-threads": 8, "compress-wait-thread": True,
                  "decompress-threads": 2, "x-checkpoint-delay": 20000,
                  "block-incremental": False, "multifd-channels": 2,
                  "xbzrle-cache-size": 64 * MiB, "max-postcopy-bandwidth": 0,
                  "multifd-compression": "none", "multifd-zlib-level": 1,
                  "multifd-zstd-level": 1}]:
        out.append(case("accepted %s" % json.dumps(args, sort_keys=True), SP, args))
    # Accepted by QEMU, refused by vmig (not implemented yet).
    # Implemented by vmig (xbzrle and compress).
    for k, v in [("compress-level", 5), ("compress-threads", 4), ("compress-wait-thread", False),
                 ("decompress-threads", 4), ("xbzrle-cache-size", 4096)]:
        out.append(case("implemented %s %s" % (k, json.dumps(v)), SP, {k: v}))
    # (The multifd ones keep the names they had when vmig did not implement
    # them: the tests' overrides name these cases.)
    multifd = {
        ("multifd-channels", 4): "qemu",
        ("multifd-compression", "zstd"): "qemu",
        # 7.2 accepts any level here and ignores it (no check, not stored);
        # vmig checks them as later QEMU does, stores and uses them.
        ("multifd-zlib-level", 10): range_error("multifd_zlib_level", "a value between 0 and 9"),
        ("multifd-zstd-level", 21): range_error("multifd_zstd_level",
                                                "a value between 0 and 20"),
        ("multifd-zstd-level", 20): "qemu",
    }
    for k, v in [("tls-creds", "tls0"), ("tls-hostname", "h"),
                 ("tls-authz", "a"), ("x-checkpoint-delay", 0), ("block-incremental", True),
                 ("multifd-channels", 4),
                 ("max-postcopy-bandwidth", 1), ("multifd-compression", "zstd"),
                 ("multifd-zlib-level", 10), ("multifd-zstd-level", 21),
                 ("multifd-zstd-level", 20)]:
        out.append(case("unsupported %s %s" % (k, json.dumps(v)), SP, {k: v},
                        vmig=multifd.get((k, v), unsupported_param(k))))
    bbm = [{"node-name": "x", "alias": "y",
            "bitmaps": [{"name": "b", "alias": "c", "transform": {"persistent": True}}]}]
    out.append(case("unsupported block-bitmap-mapping", SP, {"block-bitmap-mapping": bbm},
                    vmig=unsupported_param("block-bitmap-mapping")))
    # Invalid mappings: 7.2's text; vmig refuses any non-empty list for now.
    for m in [[{"node-name": "x", "alias": "y", "bitmaps": []},
               {"node-name": "x", "alias": "z", "bitmaps": []}],
              [{"node-name": "x", "alias": "y", "bitmaps": []},
               {"node-name": "w", "alias": "y", "bitmaps": []}],
              [{"node-name": "x", "alias": "", "bitmaps": []}],
              [{"node-name": "x", "alias": "y",
                "bitmaps": [{"name": "b", "alias": "c"}, {"name": "b", "alias": "d"}]}]]:
        out.append(case("invalid block-bitmap-mapping %s" % json.dumps(m), SP,
                        {"block-bitmap-mapping": m},
                        vmig=unsupported_param("block-bitmap-mapping")))
    # A range error comes before vmig's refusals.
    out.append(case("range before unsupported", SP, {"compress-threads": 4, "compress-level": 10}))
    # Zero-copy-send on (a state vmig cannot reach yet: "vmig_setup": "direct").
    zc = [[SC, caps(("zero-copy-send", True), ("multifd", True))]]
    for args in [{"tls-creds": "tls0"}, {"multifd-compression": "zstd"},
                 {"multifd-compression": "none"}, {"tls-creds": None},
                 {"compress-level": 10, "multifd-compression": "zstd"},
                 {"announce-step": 0, "tls-creds": "tls0"}]:
        out.append(case("zero-copy-send on, %s" % json.dumps(args, sort_keys=True), SP, args,
                        setup=zc, vmig_setup="direct"))
    # (Both implemented by vmig now; the name is kept, see above.)
    out.append(case("unsupported in schema order", SP,
                    {"multifd-channels": 4, "compress-level": 5}))
    return out


def cap_cases():
    out = []
    for c in CAPS:
        kw = {}
        if c == "background-snapshot":
            # File-backed RAM: 7.2 refuses it for the memory configuration.
            vmig = unsupported_cap(c)
        elif c in ("zero-copy-send", "postcopy-preempt"):
            vmig = "qemu"
        elif c in ("xbzrle", "auto-converge", "compress", "events", "release-ram",
                   "return-path", "pause-before-switchover", "multifd"):
            vmig = "qemu"
        else:
            vmig = unsupported_cap(c)
        out.append(case("on %s" % c, SC, caps((c, True)), vmig=vmig, **kw))
        out.append(case("off %s" % c, SC, caps((c, False))))
    out.append(case("empty list", SC, {"capabilities": []}))
    out.append(case("all off", SC, caps(*[(c, False) for c in CAPS])))
    out.append(case("implemented ones together", SC,
                    caps(("auto-converge", True), ("events", True), ("release-ram", True),
                         ("return-path", True), ("pause-before-switchover", True))))
    out.append(case("postcopy-ram with x-ignore-shared", SC,
                    caps(("postcopy-ram", True), ("x-ignore-shared", True))))
    out.append(case("x-ignore-shared with postcopy-ram, reversed", SC,
                    caps(("x-ignore-shared", True), ("postcopy-ram", True))))
    out.append(case("multifd with compress", SC, caps(("multifd", True), ("compress", True))))
    out.append(case("events, multifd with compress", SC,
                    caps(("events", True), ("multifd", True), ("compress", True))))
    out.append(case("postcopy-preempt without postcopy-ram", SC,
                    caps(("postcopy-preempt", True), ("compress", True))))
    out.append(case("postcopy-preempt with compress", SC,
                    caps(("postcopy-preempt", True), ("compress", True), ("postcopy-ram", True))))
    out.append(case("postcopy-preempt before multifd+compress", SC,
                    caps(("multifd", True), ("compress", True), ("postcopy-preempt", True))))
    out.append(case("zero-copy-send without multifd", SC, caps(("zero-copy-send", True))))
    out.append(case("zero-copy-send with multifd and compress", SC,
                    caps(("zero-copy-send", True), ("multifd", True), ("compress", True))))
    out.append(case("zero-copy-send with multifd and xbzrle", SC,
                    caps(("zero-copy-send", True), ("multifd", True), ("xbzrle", True))))
    out.append(case("zero-copy-send before postcopy-preempt", SC,
                    caps(("zero-copy-send", True), ("postcopy-preempt", True))))
    out.append(case("postcopy/ignore-shared before zero-copy-send", SC,
                    caps(("zero-copy-send", True), ("postcopy-ram", True),
                         ("x-ignore-shared", True))))
    out.append(case("zero-copy-send with multifd", SC,
                    caps(("zero-copy-send", True), ("multifd", True)),
                    vmig=unsupported_cap("zero-copy-send")))
    out.append(case("duplicate: last wins (off)", SC,
                    caps(("postcopy-ram", True), ("postcopy-ram", False))))
    out.append(case("duplicate: last wins (on)", SC,
                    caps(("events", False), ("events", True))))
    out.append(case("duplicate: compress cancelled in the same request", SC,
                    caps(("multifd", True), ("compress", True), ("compress", False))))
    out.append(case("unsupported in enum order", SC,
                    caps(("validate-uuid", True), ("xbzrle", True)),
                    vmig=unsupported_cap("validate-uuid")))
    # Shape errors (the schema's).
    out.append(case("unknown capability", SC, caps(("nosuch", True))))
    out.append(case("state missing", SC, {"capabilities": [{"capability": "events"}]}))
    out.append(case("state not a bool", SC,
                    {"capabilities": [{"capability": "events", "state": 1}]}))
    out.append(case("extra member", SC,
                    {"capabilities": [{"capability": "events", "state": True, "x": 1}]}))
    out.append(case("not a list", SC, {"capabilities": {}}))
    out.append(case("capabilities missing", SC, {}))
    # background-snapshot on write-protectable RAM: 7.2's list, in its order.
    bg = ["postcopy-ram", "dirty-bitmaps", "postcopy-blocktime", "late-block-activate",
          "return-path", "multifd", "pause-before-switchover", "auto-converge", "release-ram",
          "rdma-pin-all", "compress", "xbzrle", "x-colo", "validate-uuid", "zero-copy-send"]
    for c in CAPS:
        if c == "background-snapshot":
            continue
        vmig = "qemu" if c in bg or c == "postcopy-preempt" else unsupported_cap(
            c if c in ("zero-blocks", "block", "x-ignore-shared") else "background-snapshot")
        if c == "events":
            vmig = unsupported_cap("background-snapshot")
        out.append(case("background-snapshot with %s" % c, SC,
                        caps(("background-snapshot", True), (c, True)),
                        vmig=vmig, memory="anonymous"))
    for i in range(len(bg) - 1):
        out.append(case("background-snapshot list order from %s" % bg[i], SC,
                        caps(*[(c, True) for c in reversed(bg[i:])],
                             ("background-snapshot", True)),
                        memory="anonymous"))
    out.append(case("background-snapshot alone on anonymous RAM", SC,
                    caps(("background-snapshot", True)),
                    vmig=unsupported_cap("background-snapshot"), memory="anonymous"))
    # Zero-copy-send also looks at the parameters and the current set: states
    # vmig cannot reach over QMP yet ("vmig_setup": "direct": the unit tests
    # write the configuration directly, the shape test skips these).
    zc = caps(("zero-copy-send", True), ("multifd", True))
    for setup in [[SP, {"multifd-compression": "zlib"}], [SP, {"tls-creds": "tls0"}],
                  [SC, caps(("compress", True))], [SC, caps(("xbzrle", True))]]:
        out.append(case("zero-copy-send after %s" % json.dumps(setup[1]), SC, zc,
                        setup=[setup], vmig_setup="direct"))
    out.append(case("zero-copy-send, compress turned off in the same request", SC,
                    caps(("zero-copy-send", True), ("multifd", True), ("compress", False)),
                    setup=[[SC, caps(("compress", True))]], vmig_setup="direct",
                    vmig=unsupported_cap("zero-copy-send")))
    out.append(case("zero-copy-send: turning multifd off", SC, caps(("multifd", False)),
                    setup=[[SC, zc]], vmig_setup="direct"))
    out.append(case("zero-copy-send: turning compress on", SC, caps(("compress", True)),
                    setup=[[SC, zc]], vmig_setup="direct"))
    return out


def fresh(cases):
    """Stateless cases of the migration commands run alone on a new VM."""
    for c in cases:
        if "state" not in c:
            c["fresh"] = True
            c["setup"] = [[SC, caps(("events", True))]]
    return cases


def migrate_cases(closed_port):
    uri = "tcp:127.0.0.1:%d" % closed_port
    return fresh([
        case("uri missing", "migrate", {}),
        case("uri not a string", "migrate", {"uri": 1}),
        case("unexpected member", "migrate", {"uri": uri, "foo": 1}),
        case("blk not a bool", "migrate", {"uri": uri, "blk": "yes"}),
        case("unknown protocol", "migrate", {"uri": "nosuch:foo"}),
        case("empty uri", "migrate", {"uri": ""}),
        case("tcp without port", "migrate", {"uri": "tcp:127.0.0.1"}),
        case("tcp without address", "migrate", {"uri": "tcp:"}),
        case("fd name unknown", "migrate", {"uri": "fd:nosuch"}),
        case("resume without a paused migration", "migrate", {"uri": uri, "resume": True}),
        case("busy", "migrate", {"uri": uri}, state="active"),
        case("after completion (postmigrate)", "migrate", {"uri": uri}, state="completed"),
        case("capabilities while active", SC, caps(("events", True)), state="active"),
        case("migrate_cancel with an argument", "migrate_cancel", {"x": 1}),
        case("migrate-cancel does not exist", "migrate-cancel", None),
        case("query-migrate with an argument", "query-migrate", {"x": 1}),
    ])


def continue_cases():
    return fresh([
        case("state missing", "migrate-continue", {}),
        case("state unknown", "migrate-continue", {"state": "bogus"}),
        case("no migration", "migrate-continue", {"state": "pre-switchover"}),
        case("while active", "migrate-continue", {"state": "pre-switchover"}, state="active"),
        case("wrong state in pre-switchover", "migrate-continue", {"state": "active"},
             state="pre-switchover"),
    ])


def incoming_cases():
    return fresh([
        case("uri missing", "migrate-incoming", {}),
        case("not started with -incoming", "migrate-incoming", {"uri": "tcp:127.0.0.1:0"}),
        case("unknown protocol", "migrate-incoming", {"uri": "nosuch:foo"}, state="incoming"),
        case("listen", "migrate-incoming", {"uri": "tcp:127.0.0.1:0"}, state="incoming"),
        case("second call", "migrate-incoming", {"uri": "tcp:127.0.0.1:0"}, state="incoming"),
    ])


# ---- driving QEMU ---------------------------------------------------------------------

class Lab:
    def __init__(self, qemu, d):
        self.qemu = qemu
        self.d = d
        self.n = 0

    def ram_file(self, random):
        self.n += 1
        return qmp_py.ram_file(os.path.join(self.d, "ram-%d" % self.n), 64 * MiB, random)

    def start(self, memory="file", random=False, extra=()):
        self.n += 1
        sock = os.path.join(self.d, "qmp-%d.sock" % self.n)
        if memory == "file":
            obj = "memory-backend-file,id=mem,size=64M,mem-path=%s,share=on" % self.ram_file(random)
        else:
            obj = "memory-backend-ram,id=mem,size=64M"
        argv = [self.qemu, "-nodefaults", "-display", "none", "-accel", "kvm",
                "-object", obj, "-M", "none,memory-backend=mem",
                "-qmp", "unix:%s,server=on,wait=off" % sock] + list(extra)
        return qmp_py.Proc(argv, [sock], self.d)


def strip_id(msg):
    msg = dict(msg)
    msg.pop("id", None)
    return msg


def reset(c):
    r = c.execute(SC, caps(*[(k, False) for k in CAPS]))
    check("return" in r, "cannot reset capabilities: %r" % (r,))
    r = c.execute(SP, DEFAULT_PARAMS)
    check("return" in r, "cannot reset parameters: %r" % (r,))


def run_case(c, cs):
    reset(c)
    for cmd, args in cs.get("setup", []):
        r = c.execute(cmd, args)
        check("return" in r, "%s: setup %s failed: %r" % (cs["name"], cmd, r))
    cs["qemu"] = strip_id(c.execute(cs["command"], cs["arguments"]))


MIGRATION_COMMANDS = ["migrate", "migrate-incoming", "migrate_cancel", "migrate-continue",
                      "migrate-set-capabilities", "query-migrate-capabilities",
                      "migrate-set-parameters", "query-migrate-parameters", "query-migrate"]
MIGRATION_EVENTS = ["MIGRATION", "MIGRATION_PASS"]


def schema_subset(schema):
    """The SchemaInfo entities of the migration commands and events and every
    type they reach, in QEMU's order (names masked as QEMU masks them)."""
    by = {e["name"]: e for e in schema}
    seen = set()
    todo = MIGRATION_COMMANDS + MIGRATION_EVENTS
    while todo:
        n = todo.pop()
        if n in seen or n not in by:
            continue
        seen.add(n)
        e = by[n]
        refs = [e.get("arg-type"), e.get("ret-type"), e.get("element-type")]
        refs += [m.get("type") for m in e.get("members", []) if isinstance(m, dict)]
        refs += [v["type"] for v in e.get("variants", [])]
        todo += [r for r in refs if r]
    return [e for e in schema if e["name"] in seen]


def record(lab):
    fx = {}
    tables = {
        "migrate-set-parameters": param_cases(),
        "migrate-set-capabilities": cap_cases(),
        "migrate": migrate_cases(free_port()),
        "migrate-continue": continue_cases(),
        "migrate-incoming": incoming_cases(),
    }
    by_state = {}
    for cases in tables.values():
        for cs in cases:
            by_state.setdefault(cs.get("state"), []).append(cs)

    # Idle source: defaults, query-migrate none, stateless table cases.
    with lab.start() as p, lab.start(memory="anonymous") as a:
        c, ca = p.client(), a.client()
        fx["query-migrate-capabilities"] = strip_id(c.execute("query-migrate-capabilities"))
        fx["query-migrate-parameters"] = strip_id(c.execute("query-migrate-parameters"))
        fx["query-migrate-none"] = strip_id(c.execute("query-migrate"))
        fx["qmp-schema-migration"] = schema_subset(c.ok("query-qmp-schema"))
        for cs in by_state.get(None, []):
            if not cs.get("fresh"):
                run_case(ca if cs.get("memory") == "anonymous" else c, cs)
        c.ok("quit")
        ca.ok("quit")
    for cs in by_state.get(None, []):
        if cs.get("fresh"):
            with lab.start() as p:
                c = p.client()
                run_case(c, cs)
                time.sleep(0.2)
                cs["after"] = {"query-migrate": strip_id(c.execute("query-migrate")),
                               "events": [[e["event"], e.get("data")]
                                          for e in drain_events(c, quiet=0.3)]}
                c.ok("quit")

    # A destination started with -incoming defer.
    with lab.start(extra=["-incoming", "defer"]) as p:
        c = p.client()
        c.ok(SC, caps(("events", True)))
        for cs in by_state.get("incoming", []):
            cs["qemu"] = strip_id(c.execute(cs["command"], cs["arguments"]))
        fx["events-incoming-table"] = drain_events(c)
        c.ok("quit")

    # Flow "completed": active, pre-switchover, completed on both sides.
    with lab.start(random=True) as s, lab.start(extra=["-incoming", "defer"]) as t:
        cs, ct = s.client(), t.client()
        cs.ok(SC, caps(("events", True), ("pause-before-switchover", True)))
        ct.ok(SC, caps(("events", True)))
        ct.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:0"})
        listening = strip_id(ct.execute("query-migrate"))
        fx["query-migrate-dest-listening"] = listening
        port = listening["return"]["socket-address"][0]["port"]
        cs.ok(SP, {"max-bandwidth": 1 * MiB})
        cs.ok("migrate", {"uri": "tcp:127.0.0.1:%s" % port})
        wait_migrate_status(cs, ["active"])
        time.sleep(0.5)
        fx["query-migrate-active"] = strip_id(cs.execute("query-migrate"))
        fx["query-migrate-dest-active"] = strip_id(ct.execute("query-migrate"))
        for c in by_state.get("active", []):
            c["qemu"] = strip_id(cs.execute(c["command"], c["arguments"]))
        cs.ok(SP, {"max-bandwidth": 100 << 30})
        wait_migrate_status(cs, ["pre-switchover"])
        fx["query-migrate-pre-switchover"] = strip_id(cs.execute("query-migrate"))
        for c in by_state.get("pre-switchover", []):
            c["qemu"] = strip_id(cs.execute(c["command"], c["arguments"]))
        cs.ok("migrate-continue", {"state": "pre-switchover"})
        wait_migrate_status(cs, ["completed"])
        fx["query-migrate-completed"] = strip_id(cs.execute("query-migrate"))
        wait_migrate_status(ct, ["completed"])
        fx["query-migrate-dest-completed"] = strip_id(ct.execute("query-migrate"))
        for c in by_state.get("completed", []):
            c["qemu"] = strip_id(cs.execute(c["command"], c["arguments"]))
        fx["events-completed"] = drain_events(cs)
        fx["events-dest-completed"] = drain_events(ct)
        cs.ok("quit")
        ct.ok("quit")

    # Flow "failed": nothing listens on the port.
    with lab.start() as s:
        c = s.client()
        c.ok(SC, caps(("events", True)))
        c.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % free_port()})
        wait_migrate_status(c, ["failed"])
        fx["query-migrate-failed"] = strip_id(c.execute("query-migrate"))
        fx["events-failed"] = drain_events(c)
        c.ok("quit")

    # Flow "cancelled".
    with lab.start(random=True) as s, lab.start(extra=["-incoming", "defer"]) as t:
        cs, ct = s.client(), t.client()
        cs.ok(SC, caps(("events", True)))
        ct.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:0"})
        port = ct.ok("query-migrate")["socket-address"][0]["port"]
        cs.ok(SP, {"max-bandwidth": 1 * MiB})
        cs.ok("migrate", {"uri": "tcp:127.0.0.1:%s" % port})
        wait_migrate_status(cs, ["active"])
        time.sleep(0.3)
        cs.ok("migrate_cancel")
        wait_migrate_status(cs, ["cancelled"])
        fx["query-migrate-cancelled"] = strip_id(cs.execute("query-migrate"))
        fx["events-cancelled"] = drain_events(cs)
        cs.ok("quit")
        # The destination saw its stream cut: QEMU 7.2 exits.
        t.wait()

    for name, cases in tables.items():
        for cs in cases:
            check("qemu" in cs, "case %s/%s not run" % (name, cs["name"]))
        fx["errors-" + name] = cases
    return fx


def main():
    return qmp_py.record_main("record-qemu-migration-fixtures",
                              os.path.join(HERE, "fixtures", "qemu-7.2"),
                              lambda qemu, d: record(Lab(qemu, d)), "fixtures")


if __name__ == "__main__":
    sys.exit(main())
