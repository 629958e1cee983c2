#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ (run from anywhere).

Seeds come from the project itself: config/kiln.toml and the configs of
tests/config, the cron expressions of tests/calendar, the requests of
docs/control.md, and frames, descriptors and ELF files built here to the
formats' specs. Rerunning rewrites the same files."""
import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


REGRESSIONS = os.path.join(ROOT, "tests", "fuzz", "regressions")


def write(target, name, data, base=CORPUS):
    d = os.path.join(base, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def c_strings(text):
    """The C string literals of `text`, adjacent ones joined, unescaped."""
    out = []
    for group in re.findall(r'((?:"(?:[^"\\\n]|\\.)*"\s*)+)', text):
        parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', group)
        s = "".join(parts)
        out.append(bytes(s, "utf-8").decode("unicode_escape"))
    return out


def config_seeds():
    write("config", "kiln.toml", open(os.path.join(ROOT, "config", "kiln.toml")).read())
    src = open(os.path.join(ROOT, "tests", "config", "config_test.cc")).read()
    full = re.search(r'kFullConfig\[\] = R"\((.*?)\)";', src, re.S).group(1)
    write("config", "full.toml", full.replace("@GALLERY@", "/opt/kiln/plugins"))
    corpus = open(os.path.join(ROOT, "tests", "config", "error_corpus_test.cc")).read()
    for name, body in re.findall(r'\{"([a-z_0-9]+)",\s*((?:"(?:[^"\\]|\\.)*"\s*)+),', corpus):
        toml = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
        toml = bytes(toml, "utf-8").decode("unicode_escape").replace("@GALLERY@", "/opt/kiln/plugins")
        write("config", "error_" + name + ".toml", toml)
    write("config", "plain_chain.toml", """[daemon]
plugin_dirs = ["plugins"]
workers = 8
control_socket = "run/kilnd.sock"

[[processor]]
name = "a"
plugin = "plain"
every = "90s"
options = { path = "in", since = 2025-02-01 }
memory_limit = "64MiB"
max_runs_per_worker = 10
user = "kiln"
group = "kiln"

[[processor]]
name = "b"
plugin = "plain"
schedule = "0 0 L * *"
timezone = "Australia/Lord_Howe"
depends_on = ["a"]
rollback_after_failures = 3
catchup = "all"
catchup_cap = 10000

[[processor]]
name = "c"
plugin = "plain"
depends_on = ["b", "a"]
concurrency = "forbid"
enabled = true
""")
    write("config", "cycle.toml", """[[processor]]
name = "x"
plugin = "plain"
depends_on = ["y"]

[[processor]]
name = "y"
plugin = "rolling_average"
depends_on = ["x", "z"]
options = { input = "i", output_dir = "o", window = "3" }
""")


def cron_seeds():
    exprs = set()
    for f in ("cron_parse_test.cc", "cron_next_test.cc", "cron_dst_test.cc"):
        src = open(os.path.join(ROOT, "tests", "calendar", f)).read()
        for s in c_strings(src):
            fields = s.split()
            if s.startswith("@") or (5 <= len(fields) <= 6 and len(s) < 80 and not s.startswith("cron ")):
                exprs.add(s)
    for i, e in enumerate(sorted(exprs)):
        write("cron", "expr_%03d" % i, e)


def protocol_seeds():
    requests = [
        {"v": 1, "method": "status", "params": {}},
        {"v": 1, "method": "plugins"},
        {"v": 1, "method": "runs", "params": {"processor": "spot_check", "status": "failed", "since": "2025-01-01",
                                              "partition": "2025-01-02", "limit": 50}},
        {"v": 1, "method": "show", "params": {"run": 42}},
        {"v": 1, "method": "trigger", "params": {"processor": "player_daily_cache", "date": "2025-01-15"}},
        {"v": 1, "method": "cancel", "params": {"run": 7}},
        {"v": 1, "method": "reload", "params": None},
        {"v": 1, "method": "logs", "params": {"run": 42, "after": 10}},
        {"v": 1, "method": "backfill.start", "params": {"processor": "ml_feature_store", "start_date": "2024-10-22",
                                                        "end_date": "2025-04-13", "parallel": 4, "cascade": True,
                                                        "reprocess": "failed", "dry_run": False}},
        {"v": 1, "method": "backfill.status", "params": {"id": 3}},
        {"v": 1, "method": "backfill.list", "params": {"limit": 20}},
        {"v": 1, "method": "backfill.cancel", "params": {"id": 3}},
        {"v": 2, "method": "status"},
        {"v": "1", "method": "status"},
        {"v": 1, "method": "", "params": {}},
        {"v": 1, "method": "status", "params": [1, 2]},
        {"v": 1, "method": "x", "params": {"s": "caf\u00e9 \u2028 \U0001f600", "f": -1.5e300, "n": -9223372036854775808,
                                           "u": 18446744073709551615, "z": None, "a": [[], {}, [True]]}},
    ]
    for i, r in enumerate(requests):
        write("protocol", "request_%02d" % i, json.dumps(r, ensure_ascii=False))
    write("protocol", "not_json", "status please")
    write("protocol", "not_object", "[1,2,3]")


def frame(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack("<I", len(body)) + body


def frame_seeds():
    msgs = [
        {"type": "open", "plugin": "/opt/kiln/plugins/row_count.so", "options": {"input": "a.csv", "window": 5}},
        {"type": "opened", "ok": True, "error": "", "phases": ["extract", "validate"]},
        {"type": "run", "run_id": "r1", "processor": "p", "partition": "2025-01-02", "dry_run": False, "trigger": 2},
        {"type": "log", "level": 2, "message": "hello"},
        {"type": "progress", "done": 3, "total": 10},
        {"type": "result", "ok": False, "phase": "save", "error": "disk full", "records": 12},
        {"type": "heartbeat"},
    ]
    stream = b"".join(frame(m) for m in msgs)
    for chunk in range(8):
        write("frame", "stream_chunk%d" % chunk, bytes([chunk]) + stream)
    write("frame", "one_open", b"\x03" + frame(msgs[0]))
    write("frame", "no_type", b"\x07" + frame({"kind": "x"}))
    write("frame", "too_large", b"\x00" + struct.pack("<I", (4 << 20) + 1) + b"{}")
    write("frame", "partial", b"\x01" + frame(msgs[3])[:-3])
    write("frame", "not_json", b"\x02" + struct.pack("<I", 5) + b"hello")


MAGIC = 0x314E4C494B4E4C4B
V1_0_SIZE = 8 + 2 + 2 + 4 + 24 + 8 + 8 + 8 + 8 + 4 + 4 + 8 * 8


def sstr(s):
    if s is None:
        return b"\xff"
    b = s.encode()
    return bytes([len(b)]) + b


def descriptor(magic=MAGIC, major=1, minor=0, size=V1_0_SIZE, ptr=8, bom=0x01020304, runtime=1, host_minor=0,
               methods=0xFF, caps=0, compiler="gcc 12.2.0", name="row_count", version="1.0.0", options=(),
               count=None, null_table=False):
    out = struct.pack("<QHHIIII", magic, major, minor, size, ptr, bom, runtime)
    out += bytes([host_minor, methods]) + struct.pack("<Q", caps)
    out += sstr(compiler) + sstr(name) + sstr(version)
    out += struct.pack("<I", len(options) if count is None else count) + bytes([0xFF if null_table else 0])
    for (oname, otype, req, default, doc) in options:
        out += sstr(oname) + struct.pack("<bb", otype, req) + sstr(default) + sstr(doc)
    return out


def descriptor_seeds():
    opts = [("input", 1, 1, None, "CSV file of games"), ("output_dir", 1, 1, None, "directory"),
            ("window", 2, 0, "5", "games averaged"), ("scale", 3, 0, "1.5", "factor"),
            ("dry", 4, 0, "false", "flag"), ("since", 5, 0, "2025-01-01", "first day")]
    write("descriptor", "good", descriptor(options=opts))
    write("descriptor", "good_partitioned", descriptor(caps=1, version="2.1.0-rc.1+build.5", options=opts[:2]))
    write("descriptor", "good_no_options", descriptor(name="c_plugin", runtime=0, compiler=None))
    write("descriptor", "newer_minor_host", descriptor(minor=1, host_minor=1, size=V1_0_SIZE + 8))
    write("descriptor", "bad_magic", descriptor(magic=0x1234))
    write("descriptor", "major2", descriptor(major=2))
    write("descriptor", "minor1", descriptor(minor=1))
    write("descriptor", "small_struct", descriptor(size=40))
    write("descriptor", "pointer4", descriptor(ptr=4))
    write("descriptor", "byte_order", descriptor(bom=0x04030201))
    write("descriptor", "no_extract_save", descriptor(methods=0xFF & ~4 & ~32))
    write("descriptor", "bad_name", descriptor(name="Bad-Name"))
    write("descriptor", "null_name", descriptor(name=None))
    write("descriptor", "bad_version", descriptor(version="1.0"))
    write("descriptor", "unknown_caps", descriptor(caps=0x10))
    write("descriptor", "taken", descriptor(name="taken"))
    write("descriptor", "schema_null_table", descriptor(count=3, null_table=True))
    write("descriptor", "schema_too_many", descriptor(count=257))
    write("descriptor", "schema_duplicate", descriptor(options=[opts[0], opts[0]]))
    write("descriptor", "schema_bad", descriptor(options=[("Window", 2, 0, "5", "x"), ("w", 9, 0, "5", "x")]))
    write("descriptor", "schema_defaults", descriptor(options=[("a", 2, 0, "abc", "x"), ("b", 2, 1, "5", "x"),
                                                               ("c", 3, 0, None, "x"), ("d", 5, 0, "2025-02-30", "")]))


def elf(shared=True, pie=False, unique=True):
    """A minimal x86-64 ELF: header, PT_LOAD, PT_DYNAMIC, .dynsym with one
    symbol (STB_GNU_UNIQUE when `unique`), .dynstr, section headers."""
    ehsize, phsize, shsize = 64, 56, 64
    dynstr = b"\x00kiln_plugin_entry\x00"
    sym_null = b"\x00" * 24
    info = (10 << 4 | 1) if unique else (1 << 4 | 2)  # GNU_UNIQUE OBJECT / GLOBAL FUNC
    sym = struct.pack("<IBBHQQ", 1, info, 0, 5, 0x1000, 8)
    dynsym = sym_null + sym
    dyn = struct.pack("<qQ", 0x6FFFFFFB, 0x08000000 if pie else 0) + struct.pack("<qQ", 0, 0)
    phoff = ehsize
    data_off = phoff + 2 * phsize
    dynsym_off = data_off
    dynstr_off = dynsym_off + len(dynsym)
    dyn_off = dynstr_off + len(dynstr)
    dyn_off += (-dyn_off) % 8
    end = dyn_off + len(dyn)
    shoff = end + (-end) % 8
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\x00" * 8
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 3 if shared else 2, 62, 1, 0, phoff, shoff, 0, ehsize, phsize, 2,
                             shsize, 4, 0)
    ph_load = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, shoff, shoff, 0x1000)
    ph_dyn = struct.pack("<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, len(dyn), len(dyn), 8)
    body = bytearray(eh + ph_load + ph_dyn)
    body += dynsym
    body += dynstr
    body += b"\x00" * (dyn_off - len(body))
    body += dyn
    body += b"\x00" * (shoff - len(body))
    sh_null = b"\x00" * 64
    sh_dynsym = struct.pack("<IIQQQQIIQQ", 0, 11, 2, dynsym_off, dynsym_off, len(dynsym), 2, 1, 8, 24)
    sh_dynstr = struct.pack("<IIQQQQIIQQ", 0, 3, 2, dynstr_off, dynstr_off, len(dynstr), 0, 0, 1, 0)
    sh_dynamic = struct.pack("<IIQQQQIIQQ", 0, 6, 3, dyn_off, dyn_off, len(dyn), 2, 0, 8, 16)
    body += sh_null + sh_dynsym + sh_dynstr + sh_dynamic
    return bytes(body)


def elf_seeds():
    write("elf", "shared_unique", elf())
    write("elf", "shared_plain", elf(unique=False))
    write("elf", "pie", elf(pie=True))
    write("elf", "exec", elf(shared=False))
    write("elf", "truncated", elf()[:200])
    write("elf", "header_only", elf()[:64])
    write("elf", "not_elf", b"#!/bin/sh\necho hi\n")
    write("elf", "elf32", b"\x7fELF\x01\x01\x01" + b"\x00" * 57)


def regressions():
    """Inputs that once failed a target (see the commits that fixed them)."""
    def reg(target, name, data):
        write(target, name, data, base=REGRESSIONS)

    # Refusals and config errors quoted control characters raw: not one line.
    reg("config", "newline_in_quoted_value", '[[processor]]\nname = "a"\nplugin = "row_co\\nt"\n')
    reg("config", "newline_in_key", '[daemon]\n"work\\ners" = 4\n')
    reg("config", "newline_in_option_date",
        '[[processor]]\nname = "a"\nplugin = "plain"\noptions = { since = "2025-01-0\\n" }\n')
    reg("config", "newline_in_toml_error", "[daemon]\nworkers = t\n\n")
    # A step as large as an int overflowed the field loop (UBSan).
    reg("cron", "step_int_max", "5/2147483647 * * * *")
    # Deep nesting: copying a request's params recursed once per level and
    # overflowed the stack at ~10^5 levels (tests/daemon/control_test.cc has
    # that request); these pin the limit that now refuses it.
    reg("protocol", "depth_65", '{"v":1,"method":"status","params":{"a":' + "[" * 64 + "]" * 64 + "}}")
    reg("protocol", "depth_64_in_string", '{"v":1,"method":"status","params":{"a":"' + "[" * 200 + '"}}')
    reg("descriptor", "newline_in_version", descriptor(version="2.1.0-r\n"))
    reg("descriptor", "newline_in_name_missing_methods", descriptor(name="row\ncount", methods=0x0F))
    reg("descriptor", "newline_in_option_name", descriptor(options=[("win\ndow", 2, 0, "5", "doc")]))
    reg("descriptor", "newline_in_option_default", descriptor(options=[("day", 5, 0, "2025-01-0\n", "doc")]))


if __name__ == "__main__":
    regressions()
    config_seeds()
    cron_seeds()
    protocol_seeds()
    frame_seeds()
    descriptor_seeds()
    elf_seeds()
