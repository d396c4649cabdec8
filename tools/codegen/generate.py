"""Generate the Python message codec from Apache Kafka's JSON message definitions.

Usage::

    python -m tools.codegen.generate [SCHEMA_ROOT]

``SCHEMA_ROOT`` defaults to ``../shared/kafka-reference/message`` relative to the repository
root. Its ``clients/`` definitions become ``protocol/messages/``; ``group-coordinator/`` and
``transaction-coordinator/`` become ``protocol/coordinator_records/``. The output is committed,
so the project builds without the schema directory.

For every struct and every version the generator writes one encode function and one decode
function of straight-line code: runs of fixed-width fields are packed and unpacked with a single
precompiled ``struct.Struct``, everything else calls the small readers and writers of
``protocol.primitives``. Versions whose wire layout is identical share one function.
"""

from __future__ import annotations

import json
import keyword
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MAX_VERSION = 0x7FFF

FIXED: dict[str, tuple[str, int]] = {
    "bool": ("?", 1),
    "int8": ("b", 1),
    "int16": ("h", 2),
    "uint16": ("H", 2),
    "int32": ("i", 4),
    "uint32": ("I", 4),
    "int64": ("q", 8),
    "float64": ("d", 8),
}
PRIMITIVES = set(FIXED) | {"string", "bytes", "records", "uuid"}
PY_TYPES = {
    "bool": "bool",
    "int8": "int",
    "int16": "int",
    "uint16": "int",
    "int32": "int",
    "uint32": "int",
    "int64": "int",
    "float64": "float",
    "string": "str",
    "bytes": "bytes",
    "records": "Any",
    "uuid": "UUID",
}

Range = tuple[int, int] | None


def parse_versions(spec: str | None) -> Range:
    if spec is None or spec == "none":
        return None
    spec = spec.strip()
    if spec.endswith("+"):
        return int(spec[:-1]), MAX_VERSION
    if "-" in spec:
        lo, hi = spec.split("-")
        return int(lo), int(hi)
    return int(spec), int(spec)


def in_range(v: int, rng: Range) -> bool:
    return rng is not None and rng[0] <= v <= rng[1]


def snake(name: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    return s + "_" if keyword.iskeyword(s) else s


def load_json(path: Path) -> dict[str, Any]:
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("//")]
    data: dict[str, Any] = json.loads("\n".join(lines))
    return data


@dataclass
class Field:
    name: str  # python attribute name
    kafka_name: str
    type: str  # element type for arrays
    is_array: bool
    versions: Range
    nullable: Range
    tagged: Range
    tag: int | None
    flexible: Range | str  # "inherit" or an override range
    default: Any

    @property
    def is_struct(self) -> bool:
        return self.type not in PRIMITIVES

    def present(self, v: int) -> bool:
        return in_range(v, self.versions)

    def compact(self, v: int, msg_flexible: bool) -> bool:
        if self.flexible == "inherit":
            return msg_flexible
        return in_range(v, self.flexible)  # type: ignore[arg-type]


@dataclass
class StructDef:
    name: str
    fields: list[Field] = field(default_factory=list)


class Model:
    """The parsed definitions of one JSON file."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.name: str = data["name"]
        self.kind: str = data["type"]
        self.api_key: int | None = data.get("apiKey")
        valid = parse_versions(data["validVersions"])
        assert valid is not None
        self.valid = valid
        self.flexible = parse_versions(data.get("flexibleVersions", "none"))
        self.latest_unstable = bool(data.get("latestVersionUnstable", False))
        self.listeners = tuple(data.get("listeners", ()))
        self.structs: dict[str, StructDef] = {}
        self.order: list[str] = []  # definition order, dependencies first
        common = {c["name"]: c for c in data.get("commonStructs", [])}
        self._common = common
        self.root = StructDef(self.name, self._fields(data.get("fields", [])))

    def _fields(self, specs: list[dict[str, Any]]) -> list[Field]:
        out = []
        for spec in specs:
            ftype: str = spec["type"]
            is_array = ftype.startswith("[]")
            elem = ftype[2:] if is_array else ftype
            if elem not in PRIMITIVES and elem not in self.structs:
                if "fields" in spec:
                    self._define(elem, spec["fields"])
                elif elem in self._common:
                    self._define(elem, self._common[elem]["fields"])
                else:
                    raise ValueError(f"{self.name}: unknown type {elem}")
            flex = spec.get("flexibleVersions")
            f = Field(
                name=snake(spec["name"]),
                kafka_name=spec["name"],
                type=elem,
                is_array=is_array,
                versions=parse_versions(spec.get("versions", spec.get("taggedVersions"))),
                nullable=parse_versions(spec.get("nullableVersions")),
                tagged=parse_versions(spec.get("taggedVersions")),
                tag=None if spec.get("tag") is None else int(spec["tag"]),
                flexible="inherit" if flex is None else parse_versions(flex),
                default=None,
            )
            f.default = default_value(f, spec.get("default"))
            out.append(f)
        return out

    def _define(self, name: str, specs: list[dict[str, Any]]) -> None:
        sdef = StructDef(name)
        self.structs[name] = sdef  # registered before its fields so self-references resolve
        sdef.fields = self._fields(specs)
        self.order.append(name)

    def struct(self, name: str) -> StructDef:
        return self.root if name == self.name else self.structs[name]


def default_value(f: Field, raw: Any) -> Any:
    """The Python value of a field's default, following Kafka's generator rules."""
    if f.is_array:
        return None if raw == "null" else []
    if f.is_struct:
        return None if raw == "null" else "struct"
    t = f.type
    if raw == "null":
        return None
    if t == "bool":
        return raw in (True, "true")
    if t in FIXED:
        if raw is None or raw == "":
            return 0.0 if t == "float64" else 0
        return float(raw) if t == "float64" else int(str(raw), 0)
    if t == "string":
        return "" if raw is None else str(raw)
    if t == "bytes":
        return b""
    if t == "records":
        return None
    if t == "uuid":
        return "uuid"
    raise ValueError(t)


def default_expr(f: Field) -> str:
    d = f.default
    if f.is_array:
        return "None" if d is None else "[]"
    if f.is_struct:
        return "None" if d is None else f"{f.type}()"
    if d == "uuid":
        return "ZERO_UUID"
    return repr(d)


class Emitter:
    """Writes one module: classes, then deduplicated per-version codec functions."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.funcs: dict[tuple[str, str], str] = {}  # (kind, body-with-placeholder) -> name
        self.func_src: list[str] = []
        self.counter: dict[str, int] = {}
        self.fixed_structs: dict[str, str] = {}
        self.memo: dict[tuple[str, str, int], str] = {}

    # -- helpers ----------------------------------------------------------------------------

    def struct_const(self, fmt: str) -> str:
        if fmt not in self.fixed_structs:
            self.fixed_structs[fmt] = f"_S{len(self.fixed_structs)}"
        return self.fixed_structs[fmt]

    def flexible(self, v: int) -> bool:
        return in_range(v, self.m.flexible)

    def register(self, kind: str, sname: str, body: str) -> str:
        key = (kind, body)
        if key in self.funcs:
            return self.funcs[key]
        n = self.counter.get(sname, 0)
        self.counter[sname] = n + 1
        name = f"_{kind}_{sname}_{n}"
        self.funcs[key] = name
        self.func_src.append(body.replace("__NAME__", name))
        return name

    def min_size(self, f: Field, v: int, flex: bool) -> int:
        if f.is_struct:
            return max(1, self.struct_min_size(f.type, v))
        if f.type in FIXED:
            return FIXED[f.type][1]
        if f.type == "uuid":
            return 16
        compact = f.compact(v, flex)
        if f.type == "string":
            return 1 if compact else 2
        return 1 if compact else 4

    def struct_min_size(self, sname: str, v: int) -> int:
        flex = self.flexible(v)
        total = 1 if flex else 0
        for f in self.m.struct(sname).fields:
            if not f.present(v) or (flex and in_range(v, f.tagged)):
                continue
            if f.is_array:
                total += 1 if f.compact(v, flex) else 4
            elif f.is_struct and in_range(v, f.nullable):
                total += 1
            else:
                total += self.min_size(f, v, flex)
        return total

    # -- encoders ---------------------------------------------------------------------------

    def encoder(self, sname: str, v: int) -> str:
        key = ("e", sname, v)
        if key in self.memo:
            return self.memo[key]
        flex = self.flexible(v)
        sdef = self.m.struct(sname)
        lines: list[str] = []
        fixed: list[tuple[str, str]] = []  # (format char, expression)

        def flush() -> None:
            if fixed:
                fmt = ">" + "".join(c for c, _ in fixed)
                const = self.struct_const(fmt)
                lines.append(f"    w += {const}.pack({', '.join(e for _, e in fixed)})")
                fixed.clear()

        tagged: list[Field] = []
        for f in sdef.fields:
            if not f.present(v):
                continue
            if flex and in_range(v, f.tagged):
                tagged.append(f)
                continue
            if not f.is_array and f.type in FIXED:
                fixed.append((FIXED[f.type][0], f"o.{f.name}"))
                continue
            flush()
            lines.extend(self.encode_value(f, v, flex, f"o.{f.name}", "w", "    "))
        flush()
        if flex:
            if not tagged:
                lines.append("    w.append(0)")
            else:
                tagged.sort(key=lambda t: t.tag or 0)
                conds = [self.nondefault(t) for t in tagged]
                lines.append("    n = 0")
                for c in conds:
                    lines.append(f"    if {c}:")
                    lines.append("        n += 1")
                lines.append("    write_uvarint(w, n)")
                for t, c in zip(tagged, conds, strict=True):
                    lines.append(f"    if {c}:")
                    lines.append("        t = bytearray()")
                    lines.extend(self.encode_value(t, v, flex, f"o.{t.name}", "t", "        "))
                    lines.append(f"        write_tagged(w, {t.tag}, t)")
        if not lines:
            lines.append("    pass")
        body = f"def __NAME__(w: bytearray, o: {sname}) -> None:\n" + "\n".join(lines) + "\n"
        name = self.register("e", sname, body)
        self.memo[key] = name
        return name

    def nondefault(self, f: Field) -> str:
        d = f.default
        x = f"o.{f.name}"
        if f.is_array:
            return f"{x} is not None" if d is None else f"{x}"
        if f.is_struct:
            return f"{x} is not None" if d is None else f"{x} != {f.type}()"
        if d is None:
            return f"{x} is not None"
        if d == "uuid":
            return f"{x} != ZERO_UUID"
        return f"{x} != {d!r}"

    def encode_value(self, f: Field, v: int, flex: bool, x: str, w: str, ind: str) -> list[str]:
        compact = f.compact(v, flex)
        if not f.is_array:
            return self.encode_scalar(f, v, flex, x, w, ind, compact)
        a, e = f"a_{f.name}", f"e_{f.name}"
        lines = [f"{ind}{a} = {x}"]
        body = ind
        if f.nullable is not None:
            lines.append(f"{ind}if {a} is None:")
            lines.append(f"{ind}    {w}.append(0)" if compact else f"{ind}    {w} += b'\\xff\\xff\\xff\\xff'")
            lines.append(f"{ind}else:")
            body = ind + "    "
        if compact:
            lines += [
                f"{body}n = len({a}) + 1",
                f"{body}if n < 128:",
                f"{body}    {w}.append(n)",
                f"{body}else:",
                f"{body}    write_uvarint({w}, n)",
            ]
        else:
            lines.append(f"{body}{w} += INT32.pack(len({a}))")
        if f.type in FIXED:
            c = FIXED[f.type][0]
            lines.append(f"{body}{w} += struct.pack('>%d{c}' % len({a}), *{a})")
        else:
            lines.append(f"{body}for {e} in {a}:")
            lines.extend(self.encode_scalar(f, v, flex, e, w, body + "    ", compact))
        return lines

    def encode_scalar(
        self, f: Field, v: int, flex: bool, x: str, w: str, ind: str, compact: bool
    ) -> list[str]:
        t = f.type
        if t in FIXED:
            return [f"{ind}{w} += {self.struct_const('>' + FIXED[t][0])}.pack({x})"]
        if t == "uuid":
            return [f"{ind}{w} += {x}.bytes"]
        if t == "string":
            return [f"{ind}write_{'compact_' if compact else ''}string({w}, {x})"]
        if t == "bytes":
            return [f"{ind}write_{'compact_' if compact else ''}bytes({w}, {x})"]
        if t == "records":
            return [f"{ind}write_{'compact_' if compact else ''}records({w}, {x})"]
        enc = self.encoder(t, v)
        if not f.is_array and in_range(v, f.nullable):
            return [
                f"{ind}if {x} is None:",
                f"{ind}    {w} += b'\\xff'",
                f"{ind}else:",
                f"{ind}    {w} += b'\\x01'",
                f"{ind}    {enc}({w}, {x})",
            ]
        return [f"{ind}{enc}({w}, {x})"]

    # -- decoders ---------------------------------------------------------------------------

    def decoder(self, sname: str, v: int) -> str:
        key = ("d", sname, v)
        if key in self.memo:
            return self.memo[key]
        flex = self.flexible(v)
        sdef = self.m.struct(sname)
        lines: list[str] = []
        fixed: list[tuple[str, str, int]] = []  # (format char, variable, size)

        def flush() -> None:
            if fixed:
                fmt = ">" + "".join(c for c, _, _ in fixed)
                const = self.struct_const(fmt)
                names = ", ".join(n for _, n, _ in fixed)
                if len(fixed) == 1:
                    names += ","
                size = sum(s for _, _, s in fixed)
                lines.append(f"    {names} = {const}.unpack_from(b, p)")
                lines.append(f"    p += {size}")
                fixed.clear()

        args: list[str] = []
        tagged: list[Field] = []
        for i, f in enumerate(sdef.fields):
            var = f"f{i}"
            if not f.present(v):
                args.append(default_expr(f))
                continue
            args.append(var)
            if flex and in_range(v, f.tagged):
                tagged.append(f)
                lines_pre = f"    {var}: {self.py_type(f)} = {default_expr(f)}"
                lines.insert(0, lines_pre)
                continue
            if not f.is_array and f.type in FIXED:
                fixed.append((FIXED[f.type][0], var, FIXED[f.type][1]))
                continue
            flush()
            lines.extend(self.decode_value(f, v, flex, var, "p", "    "))
        flush()
        if flex:
            idx = {id(f): i for i, f in enumerate(sdef.fields)}
            # fast path: almost every tag buffer is the single byte 0
            lines.append("    if b[p] == 0:")
            lines.append("        p += 1")
            lines.append("    else:")
            lines.append("        nt, p = read_tag_count(b, p)")
            lines.append("        for _ in range(nt):")
            lines.append("            tag, p, end = read_tag_header(b, p)")
            for j, t in enumerate(sorted(tagged, key=lambda t: t.tag or 0)):
                kw = "if" if j == 0 else "elif"
                lines.append(f"            {kw} tag == {t.tag}:")
                lines.append("                q = p")
                lines.extend(
                    self.decode_value(t, v, flex, f"f{idx[id(t)]}", "q", "                ", declare=False)
                )
                lines.append("                check_tag_end(q, end)")
            lines.append("            p = end")
        lines.append(f"    return {sname}({', '.join(args)}), p")
        body = f"def __NAME__(b: Buffer, p: int) -> tuple[{sname}, int]:\n" + "\n".join(lines) + "\n"
        name = self.register("d", sname, body)
        self.memo[key] = name
        return name

    def py_type(self, f: Field) -> str:
        base = f.type if f.is_struct else PY_TYPES[f.type]
        if f.is_array:
            base = f"list[{base}]"
        if (f.nullable is not None or f.default is None) and base != "Any":
            base += " | None"
        return base

    def decode_value(
        self, f: Field, v: int, flex: bool, var: str, p: str, ind: str, declare: bool = True
    ) -> list[str]:
        compact = f.compact(v, flex)
        if not f.is_array:
            return self.decode_scalar(f, v, flex, var, p, ind, compact)
        minsz = self.min_size(f, v, flex)
        if compact:  # inline the one-byte varint that almost every compact length is
            lines = [
                f"{ind}n = b[{p}] - 1",
                f"{ind}if n < 127:",
                f"{ind}    {p} += 1",
                f"{ind}else:",
                f"{ind}    n, {p} = read_uvarint(b, {p})",
                f"{ind}    n -= 1",
            ]
        else:
            lines = [f"{ind}n, = INT32.unpack_from(b, {p})", f"{ind}{p} += 4"]
        lines += [f"{ind}if n * {minsz} > len(b) - {p}:", f"{ind}    array_too_long(n, len(b) - {p})"]
        if declare:
            lines.append(f"{ind}{var}: {self.py_type(f)}")
        if in_range(v, f.nullable):
            lines += [f"{ind}if n < 0:", f"{ind}    {var} = None", f"{ind}else:"]
            body = ind + "    "
        else:
            lines += [
                f"{ind}if n < 0:",
                f"{ind}    raise DecodeError('non-nullable field {f.kafka_name} was serialized as null')",
            ]
            body = ind
        if f.type in FIXED:
            c, size = FIXED[f.type]
            lines += [
                f"{body}{var} = list(struct.unpack_from('>%d{c}' % n, b, {p}))",
                f"{body}{p} += n * {size}",
            ]
        else:
            e = f"{var}e"
            lines += [f"{body}{var} = []", f"{body}for _ in range(n):"]
            lines += self.decode_scalar(f, v, flex, e, p, body + "    ", compact)
            lines.append(f"{body}    {var}.append({e})")
        return lines

    def decode_scalar(
        self, f: Field, v: int, flex: bool, var: str, p: str, ind: str, compact: bool
    ) -> list[str]:
        t = f.type
        nullable = in_range(v, f.nullable) and not f.is_array  # an array's nullability is its own
        if t in FIXED:
            c, size = FIXED[t]
            return [f"{ind}{var}, = {self.struct_const('>' + c)}.unpack_from(b, {p})", f"{ind}{p} += {size}"]
        if t == "uuid":
            return [f"{ind}{var}, {p} = read_uuid(b, {p})"]
        if t in ("string", "bytes"):
            fn = f"read_{'compact_' if compact else ''}{'nullable_' if nullable else ''}{t}"
            return [f"{ind}{var}, {p} = {fn}(b, {p})"]
        if t == "records":
            return [f"{ind}{var}, {p} = read_{'compact_' if compact else ''}records(b, {p})"]
        dec = self.decoder(t, v)
        if not f.is_array and nullable:
            return [
                f"{ind}m, = INT8.unpack_from(b, {p})",
                f"{ind}{p} += 1",
                f"{ind}if m < 0:",
                f"{ind}    {var} = None",
                f"{ind}else:",
                f"{ind}    {var}, {p} = {dec}(b, {p})",
            ]
        return [f"{ind}{var}, {p} = {dec}(b, {p})"]

    # -- classes ----------------------------------------------------------------------------

    def class_src(self, sdef: StructDef, top: bool) -> str:
        base = "Message" if top else "Struct"
        lines = ["@dataclass(slots=True)", f"class {sdef.name}({base}):"]
        about = self.m.data.get("about") if top else None
        if top:
            kind = self.m.kind
            vv = self.m.valid
            lines.append(f'    """{self.m.name}: {kind}, versions {vv[0]}-{vv[1]}."""')
        del about
        if not sdef.fields:
            lines.append("    pass")
        for f in sdef.fields:
            t = self.py_type(f)
            d = f.default
            if f.is_array and d is not None:
                lines.append(f"    {f.name}: {t} = field(default_factory=list)")
            elif f.is_struct and not f.is_array and d is not None:
                lines.append(f"    {f.name}: {t} = field(default_factory={f.type})")
            else:
                lines.append(f"    {f.name}: {t} = {default_expr(f)}")
        return "\n".join(lines) + "\n"

    def fields_src(self, sdef: StructDef) -> str:
        specs = []
        for f in sdef.fields:
            typ = ("[]" if f.is_array else "") + f.type
            struct = f.type if f.is_struct else "None"
            specs.append(
                f"    FieldSpec({f.name!r}, {typ!r}, {f.versions!r}, {f.nullable!r}, "
                f"{f.tagged!r}, {f.tag!r}, {struct}),"
            )
        return f"{sdef.name}.FIELDS = (\n" + "\n".join(specs) + "\n)\n"

    def module(self, source_name: str) -> str:
        m = self.m
        lo, hi = m.valid
        encs = [self.encoder(m.name, v) for v in range(lo, hi + 1)]
        decs = [self.decoder(m.name, v) for v in range(lo, hi + 1)]
        out = [
            f'"""{m.name} ({m.kind}{f", API key {m.api_key}" if m.api_key is not None else ""}, '
            f"versions {lo}-{hi}{', flexible from ' + str(m.flexible[0]) if m.flexible else ''}).\n\n"
            f"Generated by tools/codegen/generate.py from Kafka's {source_name}; do not edit.\n"
            '"""\n',
            "# ruff: noqa",
            "from __future__ import annotations\n",
            "import struct",
            "from dataclasses import dataclass, field",
            "from typing import Any",
            "from uuid import UUID\n",
            "from protocol.errors import DecodeError",
            "from protocol.message import Message, Struct",
            "from protocol.primitives import *  # noqa: F403",
            "from protocol.schema import FieldSpec, MessageSpec\n",
        ]
        for fmt, const in self.fixed_structs.items():
            out.append(f"{const} = struct.Struct({fmt!r})")
        out.append("\n")
        for name in m.order:
            out.append(self.class_src(m.structs[name], top=False) + "\n")
        out.append(self.class_src(m.root, top=True) + "\n")
        for src in self.func_src:
            out.append(src + "\n")
        for name in m.order:
            out.append(self.fields_src(m.structs[name]))
        out.append(self.fields_src(m.root))
        pad = ["None"] * lo
        out.append(f"\n{m.name}.SPEC = MessageSpec(")
        out.append(f"    name={m.name!r},")
        out.append(f"    kind={m.kind!r},")
        out.append(f"    api_key={m.api_key!r},")
        out.append(f"    valid=({lo}, {hi}),")
        out.append(f"    flexible={m.flexible[0] if m.flexible else None!r},")
        out.append(f"    latest_unstable={m.latest_unstable!r},")
        out.append(f"    listeners={m.listeners!r},")
        out.append(f"    encoders=({', '.join(pad + encs)},),")
        out.append(f"    decoders=({', '.join(pad + decs)},),")
        out.append(")\n")
        return "\n".join(out)


def module_name(name: str) -> str:
    return snake(name)


def generate(schema_root: Path) -> list[Path]:
    written: list[Path] = []
    targets = [
        (schema_root / "clients", REPO / "protocol" / "messages", "clients"),
        (schema_root / "group-coordinator", REPO / "protocol" / "coordinator_records", "group-coordinator"),
        (
            schema_root / "transaction-coordinator",
            REPO / "protocol" / "coordinator_records",
            "transaction-coordinator",
        ),
    ]
    index: dict[Path, list[tuple[str, Model]]] = {}
    for src_dir, out_dir, label in targets:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(src_dir.glob("*.json")):
            model = Model(load_json(path))
            emitter = Emitter(model)
            body = emitter.module(f"{label}/{path.name}")
            target = out_dir / f"{module_name(model.name)}.py"
            target.write_text(body)
            written.append(target)
            index.setdefault(out_dir, []).append((module_name(model.name), model))
    for out_dir, entries in index.items():
        written.append(write_index(out_dir, entries))
    return written


def write_index(out_dir: Path, entries: list[tuple[str, Model]]) -> Path:
    pkg = out_dir.relative_to(REPO).as_posix().replace("/", ".")
    lines = [
        '"""Generated message modules; see tools/codegen/generate.py. Do not edit."""\n',
        "# ruff: noqa",
        "from __future__ import annotations\n",
    ]
    requests, responses = [], []
    for mod, model in sorted(entries):
        lines.append(f"from {pkg}.{mod} import {model.name}")
        if model.kind == "request":
            requests.append((model.api_key, model.name))
        elif model.kind == "response":
            responses.append((model.api_key, model.name))
    if requests:
        lines.append("\nREQUESTS: dict[int, type[Message]] = {")
        lines += [f"    {k}: {n}," for k, n in sorted(requests, key=lambda kn: kn[0] or 0)]
        lines.append("}")
        lines.append("RESPONSES: dict[int, type[Message]] = {")
        lines += [f"    {k}: {n}," for k, n in sorted(responses, key=lambda kn: kn[0] or 0)]
        lines.append("}")
        lines.insert(3, "from protocol.message import Message")
    all_names = sorted(m.name for _, m in entries)
    lines.append("\n__all__ = [")
    lines += [f"    {n!r}," for n in all_names]
    if requests:
        lines += ["    'REQUESTS',", "    'RESPONSES',"]
    lines.append("]\n")
    target = out_dir / "__init__.py"
    target.write_text("\n".join(lines))
    return target


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "kafka-reference" / "message"
    written = generate(root)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", *map(str, written)], check=False)
    print(f"wrote {len(written)} modules")


if __name__ == "__main__":
    main()
