#!/usr/bin/env python3
"""gen_qmp_corpus.py — writes the handcrafted seeds of fuzz/corpus/fuzz_qmp/
for fuzz/fuzz_qmp.c: QMP sessions (negotiation, then each command of the
engine and the monitor with good and bad arguments, exec-oob, ids of every
JSON type, several commands in one chunk, malformed JSON, QEMU's single
quotes, parser resets with 0xFF, deep nesting, long strings, the splitter's
limits, getfd with descriptors) under several harness configurations.

Each seed is three header bytes, then what the client sends (see the
comment at the top of fuzz/fuzz_qmp.c):
  byte 0  chunking: bits 0-2 size class (0 all, 1 byte by byte, k: 1..4^(k-1)),
          bits 3-7 seed
  byte 1  bit 0 no "oob" offered; bits 1-2 embedder (0 sync, 1 timer,
          2 sync -EIO, 3 timer -EIO); bits 3-4 initial state (running,
          prelaunch, paused, inmigrate); bit 5 descriptors with the first
          chunks; bits 6-7 end (0 drain+EOF, 1 EOF at once, 2 engine close at
          once, 3 drain+engine close)
  byte 2  splitter limits: bits 0-3 max_input 64<<n (15: default), bits 4-7
          max_depth 4*m (0: default)

usage: fuzz/gen_qmp_corpus.py [OUTDIR]   (default: fuzz/corpus/fuzz_qmp)
"""
import json
import os
import sys

NEG = '{"execute": "qmp_capabilities"}\n'
NEG_OOB = '{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}\n'


def hdr(chunk=0, cfg=0, limits=0xFF):
    return bytes([chunk, cfg, limits])


def cfg(no_oob=False, embedder=0, state=0, fds=False, end=0):
    return (int(no_oob) | embedder << 1 | state << 3 | int(fds) << 5 | end << 6)


def cmd(name, args=None, id=None, oob=False):
    d = {"exec-oob" if oob else "execute": name}
    if args is not None:
        d["arguments"] = args
    if id is not None:
        d["id"] = id
    return json.dumps(d, ensure_ascii=False) + "\n"


def seeds():
    s = {}

    def add(name, text, chunk=0, config=0, limits=0xFF):
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        s[name] = hdr(chunk, config, limits) + data

    # ---- negotiation ----
    add("empty", "")
    add("greeting-only", "", config=cfg(end=1))
    add("neg", NEG)
    add("neg-oob", NEG_OOB)
    add("neg-oob-unavailable", NEG_OOB, config=cfg(no_oob=True))
    add("neg-twice", NEG + NEG)
    add("neg-bad-cap", cmd("qmp_capabilities", {"enable": ["foo"]}))
    add("neg-cap-not-list", cmd("qmp_capabilities", {"enable": "oob"}))
    add("neg-extra-arg", cmd("qmp_capabilities", {"x": 1}))
    add("neg-dup-oob", cmd("qmp_capabilities", {"enable": ["oob", "oob"]}, id=1),
        config=cfg(no_oob=True))
    add("before-neg", cmd("query-status", id="a") + NEG + cmd("query-status", id="b"))
    add("before-neg-unknown", cmd("nope") + NEG)

    # ---- each command, good and bad arguments ----
    base = NEG
    add("query-version", base + cmd("query-version", id=1))
    add("query-version-arg", base + cmd("query-version", {"x": 1}))
    add("query-commands", base + cmd("query-commands"))
    add("query-qmp-schema", base + cmd("query-qmp-schema", id="s"))
    add("query-status", base + cmd("query-status"))
    add("query-status-args-not-object", base + '{"execute": "query-status", "arguments": []}\n')
    for st, name in enumerate(["running", "prelaunch", "paused", "inmigrate"]):
        add("stop-cont-" + name,
            base + cmd("stop", id=1) + cmd("query-status") + cmd("cont", id=2) +
            cmd("query-status") + cmd("stop") + cmd("stop") + cmd("cont"),
            config=cfg(state=st))
    add("stop-cont-timer", base + cmd("stop") + cmd("cont") + cmd("stop") + cmd("query-status"),
        config=cfg(embedder=1))
    add("stop-cont-fail", base + cmd("stop") + cmd("cont"), config=cfg(embedder=2))
    add("stop-cont-timer-fail", base + cmd("stop") + cmd("cont") + cmd("query-status"),
        config=cfg(embedder=3))
    add("stop-arg", base + cmd("stop", {"a": 1}))
    add("quit", base + cmd("quit", id=9) + cmd("query-status") + cmd("cont") + cmd("quit"))
    add("quit-oob-client", NEG_OOB + cmd("quit") + cmd("query-status"))
    add("getfd-nofd", base + cmd("getfd", {"fdname": "x"}))
    add("getfd", base + cmd("getfd", {"fdname": "fd0"}, id=1) +
        cmd("getfd", {"fdname": "fd0"}) + cmd("closefd", {"fdname": "fd0"}) +
        cmd("closefd", {"fdname": "fd0"}), config=cfg(fds=True), chunk=0x12)
    add("getfd-digit", base + cmd("getfd", {"fdname": "0abc"}), config=cfg(fds=True))
    add("getfd-keep", base + cmd("getfd", {"fdname": "a"}) + cmd("getfd", {"fdname": "b"}),
        config=cfg(fds=True, end=3), chunk=0x23)
    add("getfd-many-fds", base + "".join(cmd("getfd", {"fdname": "f%d" % i}) for i in range(20)),
        config=cfg(fds=True), chunk=1)
    add("getfd-no-arg", base + cmd("getfd"))
    add("getfd-int-name", base + cmd("getfd", {"fdname": 1}))
    add("closefd-unknown", base + cmd("closefd", {"fdname": "nope"}))
    add("closefd-extra", base + cmd("closefd", {"fdname": "a", "b": 2}))
    add("unknown-command", base + cmd("no-such-command", id=[1, 2]))
    add("standins", base + cmd("migrate-pause") + cmd("yank", {"instances": []}) +
        cmd("query-yank", id=1) + cmd("migrate-recover", {"uri": "unix:/x"}))
    add("standins-oob", NEG_OOB + cmd("migrate-pause", oob=True) +
        cmd("yank", {"instances": [{"type": "migration"}]}, oob=True, id=2) +
        cmd("query-status", id=3) + cmd("migrate-recover", {"uri": "x"}, oob=True, id=4),
        config=cfg(embedder=1))
    add("yank-args", base + cmd("yank", {"instances": [{"type": "chardev", "id": "c"},
                                                       {"type": "block-node"}]}))

    # ---- request object errors ----
    add("not-object", base + '[1, 2]\n"str"\n42 \ntrue \nnull \n')
    add("no-execute", base + '{"id": 1}\n')
    add("execute-not-string", base + '{"execute": 1, "id": 2}\n')
    add("unexpected-member", base + '{"execute": "query-status", "foo": 1, "id": 3}\n')
    add("args-not-object", base + '{"execute": "stop", "arguments": 1}\n')
    add("exec-and-oob", NEG_OOB + '{"execute": "stop", "exec-oob": "query-yank", "id": 1}\n')
    add("oob-clash", NEG_OOB + '{"exec-oob": "query-yank", "execute": "stop"}\n')
    add("name-with-nul", base + '{"execute": "stop\\u0000x"}\n')

    # ---- exec-oob ----
    add("oob-not-enabled", base + cmd("query-yank", oob=True, id=1))
    add("oob", NEG_OOB + cmd("query-yank", oob=True, id="o1") + cmd("query-status", id="i1") +
        cmd("query-yank", oob=True, id="o2"))
    add("oob-not-allowed", NEG_OOB + cmd("query-status", oob=True, id=5))
    add("oob-while-stop", NEG_OOB + cmd("stop", id=1) + cmd("query-yank", oob=True, id=2) +
        cmd("cont", id=3), config=cfg(embedder=1))
    add("oob-flood", NEG_OOB + "".join(cmd("query-status", id=i) for i in range(12)) +
        cmd("query-yank", oob=True, id="x"), config=cfg(embedder=1))
    add("oob-close", NEG_OOB + cmd("stop") + cmd("query-yank", oob=True) + cmd("cont"),
        config=cfg(embedder=1, end=2))

    # ---- id echo ----
    ids = [0, -1, 1.5, "s", "", {"a": [1, {"b": None}]}, [], True, False, None, "\u00e9\u4e2d",
           2**63 - 1]
    add("id-echo", base + "".join(cmd("query-status", id=i) for i in ids))
    add("id-echo-errors", base + "".join(
        '{"execute": %s, "id": %s}\n' % (e, json.dumps(i))
        for e, i in [("1", 1), ('"nope"', "x"), ('"stop", "arguments": []', [3])]))
    add("id-echo-oob", NEG_OOB + "".join(cmd("query-yank", oob=True, id=i) for i in ids))

    # ---- several commands in one chunk, and split everywhere ----
    many = base + "".join(cmd(c) for c in ["query-status", "stop", "cont", "query-version",
                                           "query-commands"] * 3)
    add("many-one-chunk", many)
    add("many-bytewise", many, chunk=1)
    add("many-random-4", many, chunk=0x0A)
    add("many-random-16", many, chunk=0x53)
    add("many-random-64", many, chunk=0xA4)
    add("many-eof", many, config=cfg(end=1), chunk=0x0B)
    add("many-close", many, config=cfg(end=2, embedder=1), chunk=0x1C)
    add("many-close-idle", many, config=cfg(end=3))
    add("no-newlines", (NEG + cmd("query-status") + cmd("stop")).replace("\n", ""))
    add("budget-pause", base + '{"execute": "query-status"}' * 200)
    add("budget-pause-oob", NEG_OOB + '{"exec-oob": "query-yank"}' * 150)

    # ---- malformed JSON ----
    add("bad-json", base + '{"execute": }\n{"execute" "stop"}\n{,}\n[1,,2]\n{"a":1,}\n')
    add("stray", base + '}]:,' + cmd("query-status"))
    add("bare-tokens", base + "nul tru 1e5x -0 01 0x10 invalid {} ")
    add("bad-keyword", base + "nothing \n" + cmd("query-status"))
    add("bad-escape", base + '{"execute": "\\x"}\n{"execute": "\\u12"}\n{"execute": "\\ud800"}\n')
    add("dup-key", base + '{"execute": "stop", "execute": "cont"}\n')
    add("control-byte", base + '{"execute": "st\x01op"}\n{"ex\x02' + cmd("query-status"))
    add("newline-in-string", base + '{"execute": "st\nop"}\n' + cmd("query-status"))
    s["reset-ff"] = hdr() + (base + '{"execute": "stop"').encode() + b"\xff\xfe" + \
        cmd("query-status").encode()
    s["bad-utf8"] = hdr() + base.encode() + b'{"execute": "\xc3\x28", "id": "\xe2\x82"}\n' + \
        b'{"execute": "stop", "id": "\xf0\x9f\x98\x80"}\n'
    s["nul-bytes"] = hdr() + base.encode() + b'\x00{"execute"\x00: "stop"}\n' + \
        cmd("query-status").encode()
    add("single-quotes", base + "{'execute': 'query-status', 'id': 'it\\'s \"q\"'}\n"
        "{'execute': \"stop\", 'arguments': {}}\n")
    add("unterminated", base + cmd("query-status") + '{"execute": "stop", "id": [1, 2')
    add("unterminated-string", base + '{"execute": "stop')
    add("mismatched-closer", base + '{"execute": "stop"]\n[1}\n' + cmd("query-status"))
    add("del-char", base + cmd("closefd", {"fdname": "a\x7fb"}, id="\x7f"))
    add("nul-escape", base + '{"execute": "closefd", "arguments": {"fdname": "a\\u0000b"}, '
        '"id": "\\u0000"}\n')

    # ---- deep nesting and long strings ----
    add("deep-64", base + "[" * 64 + "]" * 64 + "\n" + cmd("query-status"))
    add("deep-65", base + "[" * 65 + "]" * 65 + "\n" + cmd("query-status"))
    add("deep-200", base + '{"execute": "stop", "id": ' + "[" * 200 + "]" * 200 + "}\n" +
        cmd("query-status"))
    add("deep-args", base + '{"execute": "getfd", "arguments": {"fdname": ' + "[" * 30 +
        "]" * 30 + "}}\n")
    add("deep-limit-8", base + "[" * 9 + "]" * 9 + cmd("query-status"), limits=0x2F)
    long_name = "x" * 3000
    add("long-command-name", base + cmd(long_name))
    add("long-fdname", base + cmd("closefd", {"fdname": long_name}, id=long_name))
    add("long-unexpected-key", base + json.dumps({"execute": "stop", long_name: 1}) + "\n")
    # raw UTF-8 in names and texts a desc repeats, short of the 512-byte desc
    add("utf8-name", base + cmd("\u00e9" * 200, id="\u4e2d"))
    add("utf8-fdname", base + cmd("closefd", {"fdname": "\u4e2d\U0001f600" * 50}))
    add("utf8-key", base + json.dumps({"execute": "stop", "\u00e9" * 200: 1},
                                      ensure_ascii=False) + "\n")
    add("utf8-arg-key", base + json.dumps({"execute": "closefd",
                                           "arguments": {"fdname": "a", "\u00e9" * 200: 1}},
                                          ensure_ascii=False) + "\n")
    # a value past the 16 KiB the splitter keeps its buffer for
    add("long-string-17k", base + cmd("query-status", id="q" * 17000) + cmd("query-status"))
    add("long-string-limit", base + cmd("query-status", id="y" * 600) + cmd("query-status"),
        limits=0xF3)
    add("limit-64", base + cmd("query-status", id="z" * 40) + cmd("stop"), limits=0xF0,
        chunk=0x0C)
    add("long-stray-token", base + '"' + "a" * 200 + "\x01" + cmd("query-status"))

    # ---- argument checking against the schema ----
    add("yank-bad", base + cmd("yank", {"instances": [{"type": "nope"}]}) +
        cmd("yank", {"instances": "x"}) + cmd("yank"))
    add("recover", base + cmd("migrate-recover", {"uri": "tcp:0:0"}) +
        cmd("migrate-recover", {"uri": 5}))
    return s


def regressions():
    """Inputs of bugs found and fixed, kept as seeds.

    An error desc longer than 511 bytes was cut by vsnprintf in the middle of
    a UTF-8 sequence; json_pack() then refused the invalid string and the
    request got no reply at all (fixed in qmp_dispatch.c error_reply())."""
    s = {}
    base = NEG
    for name, text in [
            ("long-utf8-name", base + cmd("\u00e9" * 400)),
            ("long-utf8-fdname", base + cmd("closefd", {"fdname": "\u4e2d" * 300})),
            ("long-utf8-key", base + json.dumps({"execute": "stop", "\u00e9" * 400: 1},
                                                ensure_ascii=False) + "\n"),
            ("long-utf8-arg-key", base + json.dumps(
                {"execute": "closefd", "arguments": {"fdname": "a", "k" + "\u00e9" * 400: 1}},
                ensure_ascii=False) + "\n")]:
        s[name] = hdr() + text.encode("utf-8")
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:]
    outdir = args[0] if args else os.path.join(here, "corpus", "fuzz_qmp")
    os.makedirs(outdir, exist_ok=True)
    all_seeds = seeds()
    all_seeds.update(regressions())
    for name, data in sorted(all_seeds.items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
