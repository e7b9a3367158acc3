#!/usr/bin/env python3
"""test_qmp_shapes.py - vmig-vmm's migration commands against QEMU 7.2's
recorded replies (tests/migration/fixtures/qemu-7.2, written by
record-qemu-migration-fixtures.py).

  test_qmp_shapes.py --vmm PATH [--fixtures DIR]

Runs `vmig-vmm --machine none --memory 64M --memory-file F --qmp unix:S`
and checks:
  schema     query-qmp-schema: each registered migration command and the
             MIGRATION/MIGRATION_PASS events, with the types they reach
             resolved, equal QEMU's (member names, types, optionality,
             enum values, features)
  queries    query-migrate-capabilities and query-migrate-parameters equal
             QEMU's defaults; query-migrate before any migration is {}
  tables     every case of the errors-*.json tables: the reply is QEMU's
             (class and text) where the case says "vmig": "qemu", else the
             one it names (VMIG_OVERRIDES supersedes the "vmig" of a few
             cases); after each idle migrate-set-capabilities/-parameters
             case the queries show the request applied when it was
             accepted, nothing changed when it was refused; cases marked
             "fresh" run alone on a new VM and also compare the
             query-migrate and the events that follow
  flows      completed (pause-before-switchover, 1 MiB/s, vmig-vmm to
             vmig-vmm over tcp), failed (closed port), cancelled: each
             query-migrate state (keys and JSON types; status exact), the
             cases recorded in those states, and the event sequences
             (MIGRATION/STOP/RESUME exact; MIGRATION_PASS numbered from 1,
             pass 1 before "active")
A case whose command vmig does not register yet (CommandNotFound where QEMU
answered) prints "SKIP: ..." and is not counted; the flows are skipped while
`migrate` is missing. Exit status: 0 pass, 1 fail, 77 nothing could run.
"""
import argparse
import json
import os
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
import qmp_py  # noqa: E402
from qmp_py import (Fail, check, drain_events, free_port,  # noqa: E402
                    wait_migrate_status)

MiB = 1 << 20
# Members QEMU declares as "number": 7.2 prints an integral double without a
# fraction, so either JSON type is fine there.
NUMBER_KEYS = {"mbps", "cache-miss-rate", "encoding-rate", "busy-rate", "compression-rate"}
# vmig's introspection does not show the features of enum values yet (the
# schema declares x-colo and x-ignore-shared "unstable", as QEMU; the
# emitter in src/qmp drops them): not compared until it does.
IGNORE_ENUM_VALUE_FEATURES = True
FLOW_COMMANDS = ["migrate", "migrate-incoming", "query-migrate", "migrate-set-capabilities",
                 "migrate-set-parameters", "migrate_cancel", "migrate-continue"]
SC = "migrate-set-capabilities"
SP = "migrate-set-parameters"
INT64_MAX = (1 << 63) - 1


def _generic(desc):
    return {"error": {"class": "GenericError", "desc": desc}}


# Cases of the recorded tables whose "vmig" member (what vmig must reply) no
# longer holds. The fixture files stay as recorded: QEMU 7.2's replies, next
# to the "vmig" expectations record-qemu-migration-fixtures.py wrote when
# vmig did not implement multifd and TLS yet. An entry supersedes the "vmig"
# of the case with that command and name ("qemu", "error" or a literal
# reply). Three reasons:
# - multifd implemented: the case expected "Capability 'multifd' / Parameter
#   'multifd-...' is not supported by vmig yet"; vmig now gives QEMU's reply,
#   or names the next capability it does not implement.
# - TLS implemented: the case expected "Parameter 'tls-...' is not supported
#   by vmig yet"; vmig now accepts and stores the value as 7.2 does (the
#   queries are checked after).
# - documented deviation from QEMU 7.2: 7.2 neither range-checks nor stores
#   multifd-zlib-level and multifd-zstd-level (any uint8 is accepted, the
#   query still shows 1, level 1 is used); vmig checks them as later QEMU
#   does (0..9, 0..20, with later QEMU's texts), stores and uses them (see the
#   top of src/migration/mig_params.c). Where 7.2 accepted a level past those
#   bounds, vmig refuses it.
# Every entry must name a case of the tables (main() fails otherwise).
# tests/migration/params_test.h holds the same list (pt_overrides): keep the
# two in step.
VMIG_OVERRIDES = {
    # multifd implemented: accepted, as by 7.2 (the queries are checked after).
    (SC, "on multifd"): "qemu",
    (SC, "duplicate: compress cancelled in the same request"): "qemu",
    (SP, "unsupported multifd-channels 4"): "qemu",
    (SP, 'unsupported multifd-compression "zstd"'): "qemu",
    # Accepted by both; vmig's query then shows 20, 7.2's shows 1.
    (SP, "unsupported multifd-zstd-level 20"): "qemu",
    # Both members implemented now (the order of vmig's refusals among the
    # parameters it still does not implement: test_params_unsupported).
    (SP, "unsupported in schema order"): "qemu",
    # multifd implemented: zero-copy-send is the capability vmig refuses.
    (SC, "zero-copy-send with multifd"):
        _generic("Capability 'zero-copy-send' is not supported by vmig yet"),
    (SC, "zero-copy-send, compress turned off in the same request"):
        _generic("Capability 'zero-copy-send' is not supported by vmig yet"),
    # TLS implemented: accepted and stored, as by 7.2.
    (SP, 'unsupported tls-creds "tls0"'): "qemu",
    (SP, 'unsupported tls-hostname "h"'): "qemu",
    (SP, 'unsupported tls-authz "a"'): "qemu",
    # Documented deviation: 7.2 accepts (and ignores) these levels.
    (SP, "unsupported multifd-zlib-level 10"):
        _generic("Parameter 'multifd_zlib_level' expects a value between 0 and 9"),
    (SP, "unsupported multifd-zstd-level 21"):
        _generic("Parameter 'multifd_zstd_level' expects a value between 0 and 20"),
}


def apply_overrides(tables):
    """Put VMIG_OVERRIDES into the cases' "vmig"; the entries that name no
    case, or several."""
    used = {k: 0 for k in VMIG_OVERRIDES}
    for cases in tables.values():
        for cs in cases:
            k = (cs["command"], cs["name"])
            if k in VMIG_OVERRIDES:
                cs["vmig"] = VMIG_OVERRIDES[k]
                used[k] += 1
    return ["override %s %r matches %d cases" % (k[0], k[1], n)
            for k, n in sorted(used.items()) if n != 1]


class Run:
    """Counts and the problems found."""

    def __init__(self):
        self.passed = 0
        self.skipped = 0
        self.problems = []

    def skip(self, what):
        print("SKIP: %s" % what)
        self.skipped += 1

    def result(self, what, problems):
        if problems:
            for p in problems:
                self.problems.append("%s: %s" % (what, p))
        else:
            self.passed += 1


# ---- comparisons -----------------------------------------------------------------

def jtype(v, key=None):
    t = qmp_py.jtype(v)
    if key in NUMBER_KEYS and t in ("int", "number"):
        return "number"
    return t


def shape_diff(want, got, path="$", key=None):
    """Keys and JSON types (values ignored; list elements against want's first)."""
    tw, tg = jtype(want, key), jtype(got, key)
    if tw != tg:
        return ["%s: type %s, QEMU has %s" % (path, tg, tw)]
    out = []
    if tw == "object":
        for k in sorted(set(want) - set(got)):
            out.append("%s: missing key %r" % (path, k))
        for k in sorted(set(got) - set(want)):
            out.append("%s: extra key %r" % (path, k))
        for k in sorted(set(want) & set(got)):
            out += shape_diff(want[k], got[k], "%s.%s" % (path, k), k)
    elif tw == "array" and want and got:
        for i, g in enumerate(got):
            out += shape_diff(want[0], g, "%s[%d]" % (path, i))
    return out


def not_found(reply):
    return reply.get("error", {}).get("class") == "CommandNotFound"


def expected(case):
    v = case["vmig"]
    return case["qemu"] if v == "qemu" else v


def reply_problems(case, got):
    want = expected(case)
    if want == "error":
        return [] if "error" in got else ["%s: accepted, an error was expected" % json.dumps(got)]
    got = {k: v for k, v in got.items() if k != "id"}
    if got != want:
        return ["reply %s, want %s" % (json.dumps(got), json.dumps(want))]
    return []


def events_problems(want, got):
    """MIGRATION/STOP/RESUME... exactly in QEMU's order; MIGRATION_PASS
    numbered 1, 2, ... with pass 1 before the "active" MIGRATION event."""
    out = []
    for e in got:
        if "timestamp" in e:
            out += shape_diff({"seconds": 0, "microseconds": 0}, e["timestamp"], "timestamp")

    def strip(evs):
        return [[e["event"], e.get("data")] for e in evs if e["event"] != "MIGRATION_PASS"]

    w, g = strip(want), strip(got)
    if w != g:
        out.append("events %s, QEMU has %s" % (json.dumps(g), json.dumps(w)))
    passes = [e.get("data", {}).get("pass") for e in got if e["event"] == "MIGRATION_PASS"]
    if any(e["event"] == "MIGRATION_PASS" for e in want):
        if passes != list(range(1, len(passes) + 1)) or not passes:
            out.append("MIGRATION_PASS numbers %r, want 1, 2, ..." % passes)
        names = [(e["event"], e.get("data")) for e in got]
        try:
            first = names.index(("MIGRATION_PASS", {"pass": 1}))
            active = names.index(("MIGRATION", {"status": "active"}))
            if first > active:
                out.append("MIGRATION_PASS 1 after MIGRATION active")
        except ValueError:
            pass
    elif passes:
        out.append("MIGRATION_PASS %r where QEMU has none" % passes)
    return out


def event_pairs(evs):
    return [[e["event"], e.get("data")] for e in evs]


def query_problems(want, got):
    """A query-migrate reply: shape, and the status exactly."""
    out = shape_diff(want, {k: v for k, v in got.items() if k != "id"})
    ws = want.get("return", {}).get("status")
    gs = got.get("return", {}).get("status")
    if ws != gs:
        out.append("status %r, QEMU has %r" % (gs, ws))
    return out


# ---- introspection ------------------------------------------------------------------

def canon(by, name, depth=0):
    """A type, command or event of query-qmp-schema with every reference
    resolved (masked names are meaningless)."""
    check(depth < 30, "type nesting too deep at %s" % name)
    e = by.get(name)
    if e is None:
        return {"missing": name}
    mt = e["meta-type"]
    out = {"meta-type": mt}
    if e.get("features"):
        out["features"] = sorted(e["features"])
    if mt == "builtin":
        out["json-type"] = e["json-type"]
    elif mt == "enum":
        out["members"] = [[m["name"], [] if IGNORE_ENUM_VALUE_FEATURES
                           else sorted(m.get("features", []))] for m in e["members"]]
    elif mt == "array":
        out["element"] = canon(by, e["element-type"], depth + 1)
    elif mt == "alternate":
        out["members"] = [canon(by, m["type"], depth + 1) for m in e["members"]]
    elif mt == "object":
        out["members"] = [[m["name"], "default" in m, sorted(m.get("features", [])),
                           canon(by, m["type"], depth + 1)] for m in e["members"]]
        if "tag" in e:
            out["tag"] = e["tag"]
            out["variants"] = {v["case"]: canon(by, v["type"], depth + 1)
                               for v in e["variants"]}
    elif mt == "command":
        out["arg"] = canon(by, e["arg-type"], depth + 1)
        out["ret"] = canon(by, e["ret-type"], depth + 1)
        out["allow-oob"] = bool(e.get("allow-oob"))
    elif mt == "event":
        out["arg"] = canon(by, e["arg-type"], depth + 1)
    return out


def check_schema(r, fx, c, registered):
    want_by = {e["name"]: e for e in fx["qmp-schema-migration"]}
    got = c.ok("query-qmp-schema")
    got_by = {e["name"]: e for e in got}
    names = [e["name"] for e in fx["qmp-schema-migration"]
             if e["meta-type"] in ("command", "event")]
    if IGNORE_ENUM_VALUE_FEATURES:
        print("NOTE: features of enum values not compared (vmig's introspection lacks them)")
    for n in names:
        if want_by[n]["meta-type"] == "command" and n not in registered:
            r.skip("schema of %s: command not registered yet" % n)
            continue
        w, g = canon(want_by, n), canon(got_by, n)
        probs = []
        if w != g:
            probs.append("introspection %s\n    QEMU has %s" % (json.dumps(g, sort_keys=True),
                                                             json.dumps(w, sort_keys=True)))
        r.result("schema %s" % n, probs)


# ---- VMs ---------------------------------------------------------------------------

class Lab:
    def __init__(self, vmm, d):
        self.vmm = vmm
        self.d = d
        self.n = 0

    def start(self, random=False, extra=()):
        self.n += 1
        ram = qmp_py.ram_file(os.path.join(self.d, "ram-%d" % self.n), 64 * MiB, random)
        return qmp_py.start_vmm(self.vmm, self.d, extra=["--memory-file", ram] + list(extra))


def reset(c, fx):
    caps = [{"capability": e["capability"], "state": False}
            for e in fx["query-migrate-capabilities"]["return"]]
    check("return" in c.execute("migrate-set-capabilities", {"capabilities": caps}),
          "cannot turn every capability off")
    defaults = dict(fx["query-migrate-parameters"]["return"])
    check("return" in c.execute("migrate-set-parameters", defaults),
          "cannot set the default parameters")


def run_table_case(r, c, fx, case, registered):
    what = "%s %r" % (case["command"], case["name"])
    if case["command"] not in registered and not not_found(case["qemu"]):
        r.skip("%s: command not registered yet" % what)
        return None
    got = c.execute(case["command"], case["arguments"])
    if not_found(got) and not not_found(case["qemu"]):
        r.skip("%s: command not found" % what)
        return None
    r.result(what, reply_problems(case, got))
    return got


def caps_on(*names):
    return {"capabilities": [{"capability": n, "state": True} for n in names]}


def snapshot(c):
    return {"caps": c.ok("query-migrate-capabilities"),
            "params": c.ok("query-migrate-parameters")}


def applied(before, command, args):
    """What the queries must show once command with args was accepted on a
    configuration that showed before: exactly the request applied (the last
    state given for a capability wins; a null string shows as "", an
    integer past INT64_MAX such as -1 for a size as INT64_MAX)."""
    want = json.loads(json.dumps(before))
    if command == SC:
        index = {e["capability"]: i for i, e in enumerate(want["caps"])}
        for e in args["capabilities"]:
            want["caps"][index[e["capability"]]]["state"] = e["state"]
        return want
    for k, v in (args or {}).items():
        if v is None:
            v = ""
        elif isinstance(v, int) and not isinstance(v, bool) and (v < 0 or v > INT64_MAX):
            v = INT64_MAX
        want["params"][k] = v
    return want


def effect_problems(before, after, case, got):
    want = applied(before, case["command"], case["arguments"]) if "return" in got else before
    if after != want:
        return ["the queries show %s, want %s (%s)"
                % (json.dumps(after, sort_keys=True), json.dumps(want, sort_keys=True),
                   "accepted" if "return" in got else "refused")]
    return []


# ---- the parts ---------------------------------------------------------------------

def idle_checks(r, lab, fx, tables):
    with lab.start() as p:
        c = p.client()
        registered = {e["name"] for e in c.ok("query-commands")}
        check_schema(r, fx, c, registered)
        for q in ["query-migrate-capabilities", "query-migrate-parameters", "query-migrate"]:
            want = fx["query-migrate-none" if q == "query-migrate" else q]
            if q not in registered:
                r.skip("%s: command not registered yet" % q)
                continue
            got = c.execute(q)
            got.pop("id", None)
            probs = shape_diff(want, got)
            if not probs and got != want:
                probs.append("%s, QEMU has %s" % (json.dumps(got), json.dumps(want)))
            r.result(q, probs)
        can_reset = ("migrate-set-capabilities" in registered and
                     "migrate-set-parameters" in registered)
        can_query = ("query-migrate-capabilities" in registered and
                     "query-migrate-parameters" in registered)
        for name, cases in tables.items():
            for case in cases:
                if case.get("state") or case.get("fresh") or case.get("vmig_setup"):
                    continue
                if not can_reset:
                    r.skip("%s %r: cannot reset the configuration" % (name, case["name"]))
                    continue
                reset(c, fx)
                ok = True
                for cmd, args in case.get("setup", []):
                    ok = ok and "return" in c.execute(cmd, args)
                if not ok:
                    r.result("%s %r" % (name, case["name"]), ["setup refused"])
                    continue
                effect = can_query and case["command"] in (SC, SP)
                before = snapshot(c) if effect else None
                got = run_table_case(r, c, fx, case, registered)
                if effect and got is not None:
                    r.result("%s %r: the queries after it" % (name, case["name"]),
                             effect_problems(before, snapshot(c), case, got))
        c.ok("quit")
        p.wait()
    return registered


def fresh_checks(r, lab, fx, tables, registered):
    for name, cases in tables.items():
        for case in cases:
            if not case.get("fresh"):
                continue
            if case["command"] not in registered and not not_found(case["qemu"]):
                r.skip("%s %r: command not registered yet" % (name, case["name"]))
                continue
            with lab.start() as p:
                c = p.client()
                for cmd, args in case.get("setup", []):
                    check("return" in c.execute(cmd, args), "setup %s refused" % cmd)
                got = run_table_case(r, c, fx, case, registered)
                if got is not None and "query-migrate" in registered:
                    time.sleep(0.2)
                    after = case["after"]
                    q = c.execute("query-migrate")
                    probs = query_problems(after["query-migrate"], q)
                    evs = drain_events(c, quiet=0.3)
                    w = [{"event": n, "data": d} if d is not None else {"event": n}
                         for n, d in after["events"]]
                    probs += events_problems(w, evs)
                    r.result("%s %r: what followed" % (name, case["name"]), probs)
                c.ok("quit")
                p.wait()


def incoming_checks(r, lab, fx, tables, registered):
    cases = [cs for cases in tables.values() for cs in cases if cs.get("state") == "incoming"]
    if "migrate-incoming" not in registered:
        for cs in cases:
            r.skip("migrate-incoming %r: command not registered yet" % cs["name"])
        return
    with lab.start(extra=["--incoming", "defer"]) as p:
        c = p.client()
        check("return" in c.execute("migrate-set-capabilities", caps_on("events")),
              "events refused on the destination")
        for cs in cases:
            run_table_case(r, c, fx, cs, registered)
        r.result("events of the migrate-incoming cases",
                 events_problems(fx["events-incoming-table"], drain_events(c)))
        c.ok("quit")
        p.wait()


def flow_completed(r, lab, fx, by_state, registered):
    with lab.start(random=True) as s, lab.start(extra=["--incoming", "defer"]) as t:
        cs, ct = s.client(), t.client()
        cs.ok("migrate-set-capabilities", caps_on("events", "pause-before-switchover"))
        ct.ok("migrate-set-capabilities", caps_on("events"))
        ct.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:0"})
        q = ct.execute("query-migrate")
        r.result("query-migrate dest-listening",
                 query_problems(fx["query-migrate-dest-listening"], q))
        addr = q.get("return", {}).get("socket-address", [{}])[0]
        check("port" in addr, "the destination shows no listening port: %r" % (q,))
        cs.ok("migrate-set-parameters", {"max-bandwidth": 1 * MiB})
        cs.ok("migrate", {"uri": "tcp:127.0.0.1:%s" % addr["port"]})
        wait_migrate_status(cs, ["active"])
        time.sleep(0.5)
        r.result("query-migrate active",
                 query_problems(fx["query-migrate-active"], cs.execute("query-migrate")))
        r.result("query-migrate dest-active",
                 query_problems(fx["query-migrate-dest-active"], ct.execute("query-migrate")))
        for case in by_state.get("active", []):
            run_table_case(r, cs, fx, case, registered)
        cs.ok("migrate-set-parameters", {"max-bandwidth": 100 << 30})
        wait_migrate_status(cs, ["pre-switchover"])
        r.result("query-migrate pre-switchover",
                 query_problems(fx["query-migrate-pre-switchover"], cs.execute("query-migrate")))
        for case in by_state.get("pre-switchover", []):
            run_table_case(r, cs, fx, case, registered)
        cs.ok("migrate-continue", {"state": "pre-switchover"})
        wait_migrate_status(cs, ["completed"])
        r.result("query-migrate completed",
                 query_problems(fx["query-migrate-completed"], cs.execute("query-migrate")))
        wait_migrate_status(ct, ["completed"])
        r.result("query-migrate dest-completed",
                 query_problems(fx["query-migrate-dest-completed"], ct.execute("query-migrate")))
        for case in by_state.get("completed", []):
            run_table_case(r, cs, fx, case, registered)
        r.result("events of a completed migration (source)",
                 events_problems(fx["events-completed"], drain_events(cs)))
        r.result("events of a completed migration (destination)",
                 events_problems(fx["events-dest-completed"], drain_events(ct)))
        cs.ok("quit")
        ct.ok("quit")


def flow_failed(r, lab, fx):
    with lab.start() as s:
        c = s.client()
        c.ok("migrate-set-capabilities", caps_on("events"))
        c.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % free_port()})
        wait_migrate_status(c, ["failed"])
        r.result("query-migrate failed",
                 query_problems(fx["query-migrate-failed"], c.execute("query-migrate")))
        r.result("events of a failed migration", events_problems(fx["events-failed"],
                                                                  drain_events(c)))
        c.ok("quit")


def flow_cancelled(r, lab, fx):
    with lab.start(random=True) as s, lab.start(extra=["--incoming", "defer"]) as t:
        cs, ct = s.client(), t.client()
        cs.ok("migrate-set-capabilities", caps_on("events"))
        ct.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:0"})
        port = ct.ok("query-migrate")["socket-address"][0]["port"]
        cs.ok("migrate-set-parameters", {"max-bandwidth": 1 * MiB})
        cs.ok("migrate", {"uri": "tcp:127.0.0.1:%s" % port})
        wait_migrate_status(cs, ["active"])
        time.sleep(0.3)
        cs.ok("migrate_cancel")
        wait_migrate_status(cs, ["cancelled"])
        r.result("query-migrate cancelled",
                 query_problems(fx["query-migrate-cancelled"], cs.execute("query-migrate")))
        r.result("events of a cancelled migration",
                 events_problems(fx["events-cancelled"], drain_events(cs)))
        cs.ok("quit")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--fixtures", default=os.path.join(HERE, "fixtures", "qemu-7.2"))
    a = ap.parse_args()
    fx = {}
    for f in sorted(os.listdir(a.fixtures)):
        if f.endswith(".json"):
            with open(os.path.join(a.fixtures, f)) as fh:
                fx[f[:-5]] = json.load(fh)
    tables = {k[len("errors-"):]: v for k, v in fx.items() if k.startswith("errors-")}
    stale = apply_overrides(tables)
    by_state = {}
    for cases in tables.values():
        for cs in cases:
            by_state.setdefault(cs.get("state"), []).append(cs)

    r = Run()
    r.result("VMIG_OVERRIDES", stale)
    d = qmp_py.tmpdir()
    lab = Lab(a.vmm, d)
    try:
        registered = idle_checks(r, lab, fx, tables)
        fresh_checks(r, lab, fx, tables, registered)
        incoming_checks(r, lab, fx, tables, registered)
        missing = [c for c in FLOW_COMMANDS if c not in registered]
        if missing:
            for flow in ["completed", "failed", "cancelled"]:
                r.skip("flow %s: %s not registered yet" % (flow, ", ".join(missing)))
            for st in ["active", "pre-switchover", "completed"]:
                for cs in by_state.get(st, []):
                    r.skip("%s %r (state %s): %s not registered yet"
                           % (cs["command"], cs["name"], st, ", ".join(missing)))
        else:
            flow_completed(r, lab, fx, by_state, registered)
            flow_failed(r, lab, fx)
            flow_cancelled(r, lab, fx)
    except (Fail, OSError, socket.timeout) as e:
        r.problems.append("aborted: %s" % e)
    finally:
        shutil.rmtree(d, ignore_errors=True)

    for p in r.problems:
        print("test_qmp_shapes: %s" % p, file=sys.stderr)
    if r.problems:
        print("test_qmp_shapes: FAIL: %d problems (%d checks passed, %d skipped)"
              % (len(r.problems), r.passed, r.skipped), file=sys.stderr)
        return 1
    if r.passed == 0:
        print("test_qmp_shapes: SKIP: nothing could run (%d skipped)" % r.skipped)
        return 77
    print("test_qmp_shapes: %d checks match QEMU 7.2, %d skipped" % (r.passed, r.skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
