#!/usr/bin/env python3
"""gen-qmp-doc.py — write the QMP reference (docs/qmp.md) from the schema.

    scripts/gen-qmp-doc.py src/qmp/qapi-schema.json -o docs/qmp.md
    scripts/gen-qmp-doc.py SCHEMA -o BUILD/qmp.md --check docs/qmp.md

With --check, the output is also compared with the committed copy and the
script exits 1 when they differ (the ctest test qmp/doc_fresh does this).
Python 3 standard library only; the output depends on the schema alone.
"""
import argparse
import json
import sys

REGEN = "scripts/gen-qmp-doc.py src/qmp/qapi-schema.json -o docs/qmp.md"


def cell(text):
    """Text for one table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def type_ref(ref, named):
    """A type reference as markdown: a link for declared types."""
    if isinstance(ref, list):
        return "list of " + type_ref(ref[0], named)
    if ref in named:
        return "[`%s`](#type-%s)" % (ref, ref)
    return "`%s`" % ref


def members_table(members, named, out):
    out.append("| Name | Type | Optional | Since | Description |")
    out.append("|---|---|---|---|---|")
    for m in members:
        feats = ""
        if m.get("features"):
            feats = " (features: %s)" % ", ".join(m["features"])
        out.append("| `%s` | %s | %s | %s | %s%s |" % (
            m["name"], type_ref(m["type"], named), "yes" if m.get("optional") else "no",
            m.get("since", ""), cell(m.get("doc")), cell(feats)))
    out.append("")


def object_members(spec, named, out, empty_text):
    """Arguments or event data: a member list, a struct name or nothing."""
    if spec is None or spec == []:
        out.append(empty_text)
        out.append("")
    elif isinstance(spec, str):
        out.append("The members of %s." % type_ref(spec, named))
        out.append("")
    else:
        members_table(spec, named, out)


def features_line(d, out):
    if d.get("features"):
        out.append("Features: %s." % ", ".join("`%s`" % f for f in d["features"]))
        out.append("")


def render(schema):
    named = {}
    for t in schema["types"]:
        for kind in ("enum", "struct", "union", "alternate"):
            if kind in t:
                named[t[kind]] = (kind, t)
    out = []
    out.append("# QMP reference")
    out.append("")
    out.append("<!-- Generated from src/qmp/qapi-schema.json by scripts/gen-qmp-doc.py;")
    out.append("     do not edit: change the schema and run")
    out.append("     %s -->" % REGEN)
    out.append("")
    out.append("vmig's monitor speaks QMP as QEMU 7.2 does: the greeting, `qmp_capabilities`,")
    out.append("`execute`/`exec-oob` with `arguments` and `id`, `return`/`error` replies and")
    out.append("events with a `timestamp`. Arguments are checked against this schema before")
    out.append("any command runs, with QEMU's error texts. The schema's format is described")
    out.append("in [qmp-schema-format.md](qmp-schema-format.md).")
    out.append("")
    out.append("A command listed here answers `CommandNotFound` until the part of vmig that")
    out.append("implements it registers its handler; `query-commands` lists the registered")
    out.append("ones.")
    out.append("")
    out.append("## Commands")
    out.append("")
    for c in schema["commands"]:
        out.append('<a id="cmd-%s"></a>' % c["command"])
        out.append("### `%s` (since %s)" % (c["command"], c["since"]))
        out.append("")
        out.append(c["doc"])
        out.append("")
        if c.get("allow-oob"):
            out.append("May run out of band (`exec-oob`).")
            out.append("")
        features_line(c, out)
        out.append("**Arguments**")
        out.append("")
        object_members(c.get("arguments"), named, out, "None.")
        out.append("**Returns** %s" % (type_ref(c["returns"], named) if "returns" in c
                                       else "`{}`"))
        out.append("")
    out.append("## Events")
    out.append("")
    for e in schema["events"]:
        out.append('<a id="event-%s"></a>' % e["event"])
        out.append("### `%s` (since %s)" % (e["event"], e["since"]))
        out.append("")
        out.append(e["doc"])
        out.append("")
        features_line(e, out)
        out.append("**Data**")
        out.append("")
        object_members(e.get("data"), named, out, "None (the event has no `data` member).")
    out.append("## Types")
    out.append("")
    for t in schema["types"]:
        kind = next(k for k in ("enum", "struct", "union", "alternate") if k in t)
        name = t[kind]
        out.append('<a id="type-%s"></a>' % name)
        out.append("### `%s` (%s, since %s)" % (name, kind, t["since"]))
        out.append("")
        out.append(t["doc"])
        out.append("")
        features_line(t, out)
        if kind == "enum":
            out.append("| Value | Description |")
            out.append("|---|---|")
            for v in t["values"]:
                if isinstance(v, str):
                    v = {"name": v}
                out.append("| `%s` | %s |" % (v["name"], cell(v.get("doc"))))
            out.append("")
        elif kind == "struct":
            if "base" in t:
                out.append("First the members of %s, then:" % type_ref(t["base"], named))
                out.append("")
            members_table(t["members"], named, out)
        elif kind == "union":
            if isinstance(t["base"], str):
                out.append("Common members: those of %s." % type_ref(t["base"], named))
                out.append("")
            else:
                out.append("Common members:")
                out.append("")
                members_table(t["base"], named, out)
            out.append("Then, depending on `%s`:" % t["discriminator"])
            out.append("")
            out.append("| `%s` | Further members |" % t["discriminator"])
            out.append("|---|---|")
            for case, branch in t["branches"].items():
                out.append("| `%s` | those of %s |" % (case, type_ref(branch, named)))
            out.append("")
        else:
            out.append("One of (told apart by JSON type):")
            out.append("")
            out.append("| Alternative | Type | Description |")
            out.append("|---|---|---|")
            for a in t["alternatives"]:
                out.append("| `%s` | %s | %s |" % (a["name"], type_ref(a["type"], named),
                                                   cell(a.get("doc"))))
            out.append("")
    out.append("## Builtin types")
    out.append("")
    out.append("| Type | JSON type | Description |")
    out.append("|---|---|---|")
    for b in schema["builtins"]:
        out.append("| `%s` | %s | %s |" % (b["name"], b["json-type"], cell(b["doc"])))
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description="Generate the QMP reference from the schema.")
    ap.add_argument("schema", help="src/qmp/qapi-schema.json")
    ap.add_argument("-o", "--output", help="where to write (default: stdout)")
    ap.add_argument("--check", metavar="COMMITTED",
                    help="exit 1 if COMMITTED differs from the generated text")
    args = ap.parse_args()
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    text = render(schema)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    elif not args.check:
        sys.stdout.write(text)
    if args.check:
        try:
            with open(args.check, encoding="utf-8") as f:
                committed = f.read()
        except OSError as e:
            print("%s: %s" % (args.check, e.strerror), file=sys.stderr)
            return 1
        if committed != text:
            print("%s is stale: run %s" % (args.check, REGEN), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
