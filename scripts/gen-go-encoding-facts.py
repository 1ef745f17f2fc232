#!/usr/bin/env python3
"""Emit a Rust table of facts about how upstream kube-apiserver's Go API types are
encoded by Go's encoding/json: for every struct type, keyed by its OpenAPI definition
name, the JSON fields in Go's output order (embedded structs flattened the way
encoding/json flattens them) with their omitempty/omitzero options and the Go shape of
each field (pointer, slice, map, nested struct, scalar kind, or one of the apimachinery
types with hand-written JSON marshalling).

Usage:
  gen-go-encoding-facts.py SRC [--openapi-dir DIR] [--out FILE]

SRC is either a kubernetes/kubernetes checkout (staging/src/k8s.io/... is read) or a
directory holding k8s.io/<repo>/... (see extract-k8s-go-sources.py).  Only facts are
written; no Go code or comments are carried over.

With --openapi-dir, every definition in the OpenAPI v3 documents found there must get an
entry, and each definition's property names are compared with the parsed JSON field
names; differences are reported and make the run fail.
"""

import argparse
import glob
import json
import os
import re
import sys
from collections import OrderedDict

# --------------------------------------------------------------------------------------
# What to read

# Group/versions kube-apiserver 1.33 serves (the OpenAPI v3 documents of a default
# 1.33 cluster with all alpha/beta APIs enabled), as directories under k8s.io/api.
API_PACKAGES = [
    "core/v1",
    "admissionregistration/v1", "admissionregistration/v1alpha1", "admissionregistration/v1beta1",
    "apiserverinternal/v1alpha1",
    "apps/v1",
    "authentication/v1",
    "authorization/v1",
    "autoscaling/v1", "autoscaling/v2",
    "batch/v1",
    "certificates/v1", "certificates/v1alpha1", "certificates/v1beta1",
    "coordination/v1", "coordination/v1alpha2", "coordination/v1beta1",
    "discovery/v1",
    "events/v1",
    "flowcontrol/v1",
    "networking/v1", "networking/v1beta1",
    "node/v1",
    "policy/v1",
    "rbac/v1",
    "resource/v1alpha3", "resource/v1beta1", "resource/v1beta2",
    "scheduling/v1",
    "storage/v1", "storage/v1alpha1", "storage/v1beta1",
    "storagemigration/v1alpha1",
]

# Packages whose exported struct types all become entries.
ROOT_PACKAGES = ["k8s.io/api/" + p for p in API_PACKAGES] + [
    "k8s.io/apimachinery/pkg/apis/meta/v1",
    "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1",
    "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1",
]

# Packages parsed only so that references into them resolve.
SUPPORT_PACKAGES = [
    "k8s.io/apimachinery/pkg/runtime",
    "k8s.io/apimachinery/pkg/util/intstr",
    "k8s.io/apimachinery/pkg/api/resource",
    "k8s.io/apimachinery/pkg/types",
]

META = "k8s.io/apimachinery/pkg/apis/meta/v1"
APIEXT = "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

# Types whose JSON form comes from hand-written MarshalJSON/UnmarshalJSON methods.  The
# generator refuses to run if it meets any other type with such methods, so a new
# custom-marshalled type cannot slip through as a plain struct.
SPECIAL = {
    META + ".Time": "Time",
    META + ".MicroTime": "MicroTime",
    META + ".Duration": "Duration",
    META + ".FieldsV1": "FieldsV1",
    META + ".GroupVersion": "GroupVersion",
    "k8s.io/apimachinery/pkg/api/resource.Quantity": "Quantity",
    "k8s.io/apimachinery/pkg/util/intstr.IntOrString": "IntOrString",
    "k8s.io/apimachinery/pkg/runtime.RawExtension": "RawExtension",
    "k8s.io/apimachinery/pkg/runtime.Unknown": "Unknown",
    APIEXT + ".JSON": "Json",
    APIEXT + ".JSONSchemaPropsOrArray": "SchemaOrArray",
    APIEXT + ".JSONSchemaPropsOrBool": "SchemaOrBool",
    APIEXT + ".JSONSchemaPropsOrStringArray": "SchemaOrStringArray",
}
# The struct the apiextensions wrappers hold.
SCHEMA_PROPS = APIEXT + ".JSONSchemaProps"

# Named types from packages outside the parsed set that API types may use.
EXTERNAL = {
    "time.Duration": ("int", 64, True),
}

BUILTIN = {
    "string": ("string",), "bool": ("bool",),
    "int": ("int", 64, True), "int8": ("int", 8, True), "int16": ("int", 16, True),
    "int32": ("int", 32, True), "rune": ("int", 32, True), "int64": ("int", 64, True),
    "uint": ("int", 64, False), "uint8": ("int", 8, False), "byte": ("int", 8, False),
    "uint16": ("int", 16, False), "uint32": ("int", 32, False), "uint64": ("int", 64, False),
    "uintptr": ("int", 64, False),
    "float32": ("float", 32), "float64": ("float", 64),
    "any": ("any",), "error": ("any",),
}

JSON_METHODS = {"MarshalJSON", "UnmarshalJSON", "MarshalText", "UnmarshalText"}


class GenError(Exception):
    pass


# --------------------------------------------------------------------------------------
# A small Go lexer: enough to find type declarations, imports and method names.

_TOKEN = re.compile(r"""
   (?P<ws>[ \t\r\f]+)
 | (?P<nl>\n)
 | (?P<lc>//[^\n]*)
 | (?P<bc>/\*.*?\*/)
 | (?P<raw>`[^`]*`)
 | (?P<str>"(?:\\.|[^"\\\n])*")
 | (?P<chr>'(?:\\.|[^'\\\n])*')
 | (?P<num>[0-9][0-9a-zA-Z_.]*|\.[0-9][0-9a-zA-Z_]*)
 | (?P<id>[^\W\d]\w*)
 | (?P<op>\.\.\.|<-|:=|&&|\|\||<<=|>>=|&\^=|\+\+|--|<<|>>|&\^|[-+*/%&|^<>=!]=|.)
""", re.S | re.X)


def lex(text):
    toks = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        val = m.group()
        if kind in ("ws", "lc"):
            continue
        if kind == "bc":
            if "\n" in val:
                toks.append(("nl", "\n"))
            continue
        toks.append((kind, val))
    toks.append(("eof", ""))
    return toks


# Type expressions are tuples:
#   ("ref", pkgalias_or_None, name) | ("ptr", t) | ("slice", t) | ("array", lenexpr, t)
#   ("map", k, v) | ("struct", [Field]) | ("iface",) | ("func",) | ("chan", t)

class Field:
    __slots__ = ("names", "type", "tag", "embedded")

    def __init__(self, names, type_, tag, embedded):
        self.names, self.type, self.tag, self.embedded = names, type_, tag, embedded


class Parser:
    def __init__(self, toks, fname):
        self.t = toks
        self.i = 0
        self.fname = fname

    def peek(self, k=0):
        return self.t[self.i + k]

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, val):
        tok = self.next()
        if tok[1] != val:
            raise GenError(f"{self.fname}: expected {val!r}, got {tok[1]!r} (token {self.i})")
        return tok

    def skip_nl(self):
        while self.peek()[0] == "nl" or self.peek()[1] == ";":
            self.i += 1

    def skip_balanced(self, open_, close):
        depth = 0
        while True:
            tok = self.next()
            if tok[0] == "eof":
                raise GenError(f"{self.fname}: unbalanced {open_}")
            if tok[1] == open_:
                depth += 1
            elif tok[1] == close:
                depth -= 1
                if depth == 0:
                    return

    def parse_type(self):
        tok = self.peek()
        v = tok[1]
        if v == "*":
            self.next()
            return ("ptr", self.parse_type())
        if v == "(":
            self.next()
            t = self.parse_type()
            self.expect(")")
            return t
        if v == "[":
            self.next()
            if self.peek()[1] == "]":
                self.next()
                return ("slice", self.parse_type())
            length = []
            depth = 1
            while True:
                tk = self.next()
                if tk[1] == "[":
                    depth += 1
                elif tk[1] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                length.append(tk[1])
            return ("array", "".join(length), self.parse_type())
        if v == "map":
            self.next()
            self.expect("[")
            k = self.parse_type()
            self.expect("]")
            return ("map", k, self.parse_type())
        if v == "struct":
            self.next()
            return ("struct", self.parse_struct_body())
        if v == "interface":
            self.next()
            self.skip_balanced("{", "}")
            return ("iface",)
        if v == "func":
            self.next()
            self.skip_balanced("(", ")")
            nxt = self.peek()
            if nxt[1] == "(":
                self.skip_balanced("(", ")")
            elif nxt[0] == "id" or nxt[1] in ("*", "[", "map"):
                self.parse_type()
            return ("func",)
        if v == "chan" or v == "<-":
            self.next()
            if self.peek()[1] in ("chan", "<-"):
                self.next()
            return ("chan", self.parse_type())
        if tok[0] == "id":
            self.next()
            if self.peek()[1] == "." and self.peek(1)[0] == "id":
                self.next()
                name = self.next()[1]
                return ("ref", v, name)
            return ("ref", None, v)
        raise GenError(f"{self.fname}: cannot parse type at {v!r}")

    def parse_struct_body(self):
        self.expect("{")
        fields = []
        while True:
            self.skip_nl()
            if self.peek()[1] == "}":
                self.next()
                return fields
            fields.append(self.parse_field())

    def parse_field(self):
        tok = self.peek()
        embedded = False
        names = []
        # embedded: [*] Name [. Name] followed by tag / newline / ; / }
        j = 0
        if self.peek(j)[1] == "*":
            j += 1
        if self.peek(j)[0] == "id":
            j += 1
            if self.peek(j)[1] == "." and self.peek(j + 1)[0] == "id":
                j += 2
            after = self.peek(j)
            if after[0] in ("nl", "raw", "str", "eof") or after[1] in (";", "}"):
                embedded = True
        if embedded:
            ftype = self.parse_type()
            base = ftype[1] if ftype[0] == "ptr" else ftype
            names = [base[2]]
        else:
            if tok[0] != "id":
                raise GenError(f"{self.fname}: bad field start {tok[1]!r}")
            names.append(self.next()[1])
            while self.peek()[1] == ",":
                self.next()
                names.append(self.next()[1])
            ftype = self.parse_type()
        tag = None
        if self.peek()[0] in ("raw", "str"):
            tag = go_unquote(self.next()[1])
        nxt = self.peek()
        if nxt[0] not in ("nl", "eof") and nxt[1] not in (";", "}"):
            raise GenError(f"{self.fname}: junk after field {names}: {nxt[1]!r}")
        return Field(names, ftype, tag, embedded)


def go_unquote(lit):
    if lit.startswith("`"):
        return lit[1:-1]
    return json.loads(lit)  # Go and JSON escapes agree for what struct tags use


class TypeDecl:
    __slots__ = ("pkg", "name", "expr", "alias", "imports")

    def __init__(self, pkg, name, expr, alias, imports):
        self.pkg, self.name, self.expr, self.alias, self.imports = pkg, name, expr, alias, imports


class Package:
    def __init__(self, path):
        self.path = path
        self.name = None
        self.types = OrderedDict()
        self.methods = {}
        self.group_version = None
        self.kinds = []


def parse_file(pkg, fname, text):
    toks = lex(text)
    p = Parser(toks, fname)
    imports = {}
    depth = 0
    line_start = True
    while True:
        tok = p.peek()
        kind, val = tok
        if kind == "eof":
            break
        if kind == "nl":
            p.next()
            line_start = True
            continue
        if depth == 0 and line_start and kind == "id":
            if val == "package":
                p.next()
                pkg.name = p.next()[1]
                continue
            if val == "import":
                p.next()
                if p.peek()[1] == "(":
                    p.next()
                    while True:
                        p.skip_nl()
                        if p.peek()[1] == ")":
                            p.next()
                            break
                        parse_import(p, imports)
                else:
                    parse_import(p, imports)
                continue
            if val == "type":
                p.next()
                if p.peek()[1] == "(":
                    p.next()
                    while True:
                        p.skip_nl()
                        if p.peek()[1] == ")":
                            p.next()
                            break
                        parse_typespec(p, pkg, imports)
                else:
                    parse_typespec(p, pkg, imports)
                continue
            if val == "func":
                p.next()
                if p.peek()[1] == "(":
                    # method: record receiver base type and method name
                    recv = []
                    p.next()
                    d = 1
                    while d:
                        tk = p.next()
                        if tk[1] == "(":
                            d += 1
                        elif tk[1] == ")":
                            d -= 1
                        elif tk[0] == "id":
                            recv.append(tk[1])
                    if recv and p.peek()[0] == "id":
                        pkg.methods.setdefault(recv[-1], set()).add(p.peek()[1])
                line_start = False
                continue
        line_start = False
        if val in ("{", "(", "["):
            depth += 1
        elif val in ("}", ")", "]"):
            depth -= 1
        p.next()
    return imports


def parse_import(p, imports):
    tok = p.next()
    alias = None
    if tok[0] in ("id",) or tok[1] in (".",):
        alias = tok[1]
        tok = p.next()
    path = go_unquote(tok[1])
    imports.setdefault("\0list", []).append((alias, path))


def parse_typespec(p, pkg, imports):
    name = p.next()[1]
    if p.peek()[1] == "[" and p.peek(1)[0] == "id" and p.peek(2)[1] not in ("]",):
        # generic type parameters: not used by API types; keep the declaration out
        p.skip_balanced("[", "]")
        p.parse_type()
        return
    alias = False
    if p.peek()[1] == "=":
        p.next()
        alias = True
    expr = p.parse_type()
    pkg.types[name] = TypeDecl(pkg, name, expr, alias, imports)


def locate_root(src):
    for cand in (os.path.join(src, "staging", "src"), src):
        if os.path.isdir(os.path.join(cand, "k8s.io")):
            return cand
    raise GenError(f"{src}: neither staging/src/k8s.io nor k8s.io found")


def load_package(root, path):
    d = os.path.join(root, path)
    files = sorted(f for f in glob.glob(os.path.join(d, "*.go"))
                   if not f.endswith("_test.go")
                   and not os.path.basename(f).startswith("zz_generated")
                   and os.path.basename(f) != "generated.pb.go")
    if not files:
        raise GenError(f"no Go files for {path} under {root}")
    pkg = Package(path)
    reg = os.path.join(d, "register.go")
    if os.path.exists(reg):
        with open(reg, encoding="utf-8") as fh:
            text = fh.read()
        m = re.search(r'\bGroupName\s*=\s*"([^"]*)"', text)
        v = re.search(r'SchemeGroupVersion\s*=\s*schema\.GroupVersion\{Group:\s*GroupName,\s*Version:\s*"([^"]+)"', text)
        if m and v:
            pkg.group_version = (m.group(1) + "/" + v.group(1)) if m.group(1) else v.group(1)
            # kinds registered with the scheme: `&Kind{}` (unqualified) in register.go
            pkg.kinds = sorted(set(re.findall(r'(?<![.\w])&([A-Z]\w*)\{\}', text)))
    for f in files:
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        if re.search(r"^//go:build\s+ignore", text, re.M):
            continue
        parse_file(pkg, f, text)
    return pkg


# --------------------------------------------------------------------------------------
# Resolution of Go types into encoding shapes

def openapi_name(q):
    """k8s.io/api/apps/v1.Deployment -> io.k8s.api.apps.v1.Deployment"""
    path, _, name = q.rpartition(".")
    first, _, rest = path.partition("/")
    host = ".".join(reversed(first.split(".")))
    return f"{host}.{rest.replace('/', '.')}.{name}"


def parse_json_tag(tag):
    """encoding/json's reading of a struct tag: (name, options) or None for `json:"-"`."""
    if tag is None:
        return "", set()
    value = struct_tag_lookup(tag, "json")
    if value is None:
        return "", set()
    if value == "-":
        return None
    name, *opts = value.split(",")
    return name, set(opts)


def struct_tag_lookup(tag, key):
    # the conventional `k:"v" k2:"v2"` format, read like reflect.StructTag.Lookup
    i = 0
    n = len(tag)
    while i < n:
        while i < n and tag[i] == " ":
            i += 1
        j = i
        while j < n and tag[j] > " " and tag[j] != ":" and tag[j] != '"' and ord(tag[j]) != 0x7f:
            j += 1
        if j == i or j + 1 >= n or tag[j] != ":" or tag[j + 1] != '"':
            return None
        k = tag[i:j]
        j += 1
        m = j + 1
        while m < n and tag[m] != '"':
            if tag[m] == "\\":
                m += 1
            m += 1
        if m >= n:
            return None
        qvalue = tag[j:m + 1]
        i = m + 1
        if k == key:
            return json.loads(qvalue)
    return None


class Resolver:
    def __init__(self, packages):
        self.packages = packages
        self.by_name = {}
        for pk in packages.values():
            if pk.name:
                self.by_name.setdefault(pk.path, pk.name)
        self.structs = OrderedDict()  # q -> flattened field list (filled lazily)
        self.in_progress = set()

    def import_path(self, decl_pkg, imports, alias):
        for a, path in imports.get("\0list", []):
            if a == alias:
                return path
            if a is None:
                pk = self.packages.get(path)
                default = pk.name if pk and pk.name else path.rsplit("/", 1)[-1]
                if default == alias:
                    return path
        raise GenError(f"{decl_pkg.path}: unknown package alias {alias!r}")

    def shape(self, expr, pkg, imports):
        k = expr[0]
        if k == "ptr":
            return ("ptr", self.shape(expr[1], pkg, imports))
        if k == "slice":
            elem = self.shape(expr[1], pkg, imports)
            if elem[0] == "int" and elem[1] == 8 and not elem[2]:
                return ("bytes",)
            return ("slice", elem)
        if k == "array":
            try:
                n = int(expr[1], 0)
            except ValueError:
                raise GenError(f"{pkg.path}: array length {expr[1]!r} is not a literal")
            return ("array", n, self.shape(expr[2], pkg, imports))
        if k == "map":
            key = self.shape(expr[1], pkg, imports)
            if key[0] not in ("string", "int"):
                raise GenError(f"{pkg.path}: unsupported map key {key}")
            return ("map", key, self.shape(expr[2], pkg, imports))
        if k == "iface":
            return ("any",)
        if k in ("func", "chan"):
            raise GenError(f"{pkg.path}: {k} type cannot be JSON encoded")
        if k == "struct":
            raise GenError(f"{pkg.path}: anonymous struct types are not supported")
        if k == "ref":
            alias, name = expr[1], expr[2]
            if alias is None:
                if name in pkg.types:
                    return self.named(pkg.path, name)
                if name in BUILTIN:
                    return BUILTIN[name]
                raise GenError(f"{pkg.path}: unknown type {name}")
            path = self.import_path(pkg, imports, alias)
            return self.named(path, name)
        raise GenError(f"unknown type expression {expr}")

    def named(self, path, name):
        q = f"{path}.{name}"
        if q in SPECIAL:
            return ("special", SPECIAL[q])
        if q in EXTERNAL:
            return EXTERNAL[q]
        pk = self.packages.get(path)
        if pk is None:
            raise GenError(f"reference to {q}: package {path} is not parsed")
        decl = pk.types.get(name)
        if decl is None:
            raise GenError(f"reference to undeclared type {q}")
        if JSON_METHODS & pk.methods.get(name, set()):
            raise GenError(f"{q} has hand-written JSON methods but no SPECIAL entry")
        target = self.struct_target(decl)
        if target is not None:
            if q not in self.structs and q not in self.in_progress:
                self.in_progress.add(q)
                try:
                    self.structs[q] = None  # reserve declaration order slot
                    self.structs[q] = self.flatten(q)
                except GenError:
                    del self.structs[q]
                    raise
                finally:
                    self.in_progress.discard(q)
            return ("struct", q)
        return self.shape(decl.expr, decl.pkg, decl.imports)

    def struct_target(self, decl):
        """The struct literal a named type stands for (following `type A B` chains), or None."""
        seen = set()
        while True:
            e = decl.expr
            if e[0] == "struct":
                return decl
            if e[0] != "ref":
                return None
            alias, name = e[1], e[2]
            if alias is None and name in BUILTIN and name not in decl.pkg.types:
                return None
            path = decl.pkg.path if alias is None else self.import_path(decl.pkg, decl.imports, alias)
            q = f"{path}.{name}"
            if q in SPECIAL or q in EXTERNAL:
                if not decl.alias:
                    raise GenError(f"{decl.pkg.path}.{decl.name}: defined type over {q} loses its JSON methods")
                return None
            if q in seen:
                raise GenError(f"type cycle at {q}")
            seen.add(q)
            pk = self.packages.get(path)
            if pk is None or name not in pk.types:
                raise GenError(f"{decl.pkg.path}.{decl.name}: cannot follow {q}")
            decl = pk.types[name]

    def struct_decl(self, q):
        path, _, name = q.rpartition(".")
        return self.struct_target(self.packages[path].types[name])

    def flatten(self, q):
        """The JSON fields of struct q in encoding/json's order, embedded structs flattened,
        with Go's rules for names hidden by shallower or tagged ones."""
        found = []  # (json name, tagged, depth, index path, shape, opts, go name)
        level = [(q, ())]
        visited = set()
        depth = 0
        while level:
            nxt = []
            for sq, index in level:
                if sq in visited:
                    continue
                visited.add(sq)
                decl = self.struct_decl(sq)
                fi = 0
                for f in decl.expr[1]:
                    for goname in f.names:
                        idx = index + (fi,)
                        fi += 1
                        tag = parse_json_tag(f.tag)
                        if tag is None:
                            continue
                        jname, opts = tag
                        exported = goname[:1].isupper()
                        ftype = f.type
                        if f.embedded:
                            base = ftype[1] if ftype[0] == "ptr" else ftype
                            bshape = self.shape(base, decl.pkg, decl.imports)
                            if not exported and bshape[0] != "struct":
                                continue
                            if jname == "" and bshape[0] == "struct":
                                if ftype[0] == "ptr":
                                    raise GenError(f"{sq}: embedded pointer {goname} is not supported")
                                nxt.append((bshape[1], idx))
                                continue
                            if bshape[0] == "special" and jname == "":
                                raise GenError(f"{sq}: embeds custom-marshalled {goname}")
                        elif not exported:
                            continue
                        shape = self.shape(ftype, decl.pkg, decl.imports)
                        found.append((jname or goname, jname != "", depth, idx, shape,
                                      opts, goname))
            level = nxt
            depth += 1
        # dominant field per name
        by_name = OrderedDict()
        for entry in found:
            by_name.setdefault(entry[0], []).append(entry)
        kept = []
        for name, entries in by_name.items():
            mind = min(e[2] for e in entries)
            top = [e for e in entries if e[2] == mind]
            if len(top) > 1:
                tagged = [e for e in top if e[1]]
                if len(tagged) != 1:
                    print(f"note: {q}: field {name} is ambiguous and dropped, as Go does",
                          file=sys.stderr)
                    continue
                top = tagged
            kept.append(top[0])
        kept.sort(key=lambda e: e[3])
        out = []
        for jname, _, _, _, shape, opts, goname in kept:
            unknown = opts - {"omitempty", "omitzero", "inline", ""}
            if "string" in unknown:
                raise GenError(f"{q}.{goname}: ',string' option is not supported")
            out.append((jname, shape, "omitempty" in opts, "omitzero" in opts))
        return out


# --------------------------------------------------------------------------------------
# Emission

KIND_OF_SPECIAL = {
    "Time": "Time", "MicroTime": "MicroTime", "Duration": "Duration", "FieldsV1": "FieldsV1",
    "GroupVersion": "GroupVersion", "Quantity": "Quantity", "IntOrString": "IntOrString",
    "RawExtension": "RawExtension", "Unknown": "RawExtension", "Json": "Json",
    "SchemaOrArray": "SchemaOrArray", "SchemaOrBool": "SchemaOrBool",
    "SchemaOrStringArray": "SchemaOrStringArray",
}


class Emitter:
    def __init__(self, resolver):
        self.r = resolver
        self.types = []      # (kind, a, b)
        self.index = {}      # shape -> type index
        self.fields = []     # (json name, type index, flags)
        self.names = {}      # OpenAPI definition name -> type index
        self.struct_idx = {}  # struct -> type index
        self.struct_entries = {}  # struct -> [(json name, type index, flags)]

    def intern(self, shape):
        if shape in self.index:
            return self.index[shape]
        k = shape[0]
        if k == "struct":
            idx = len(self.types)
            self.types.append(None)  # filled once all structs are known
            self.index[shape] = idx
            self.struct_idx[shape[1]] = idx
            return idx
        if k == "string":
            entry = ("String", 0, 0)
        elif k == "bool":
            entry = ("Bool", 0, 0)
        elif k == "int":
            entry = (("I" if shape[2] else "U") + str(shape[1]), 0, 0)
        elif k == "float":
            entry = ("F" + str(shape[1]), 0, 0)
        elif k == "bytes":
            entry = ("Bytes", 0, 0)
        elif k == "any":
            entry = ("Any", 0, 0)
        elif k == "ptr":
            entry = ("Ptr", self.intern(shape[1]), 0)
        elif k == "slice":
            entry = ("Slice", self.intern(shape[1]), 0)
        elif k == "array":
            entry = ("Array", self.intern(shape[2]), shape[1])
        elif k == "map":
            entry = ("Map", self.intern(shape[1]), self.intern(shape[2]))
        elif k == "special":
            kind = KIND_OF_SPECIAL[shape[1]]
            a = 0
            if kind.startswith("Schema"):
                a = self.intern(self.r.named(APIEXT, "JSONSchemaProps"))
            entry = (kind, a, 0)
        else:
            raise GenError(f"cannot intern {shape}")
        if entry in self.index:  # same encoding facts reached through another shape
            idx = self.index[entry]
        else:
            idx = len(self.types)
            self.types.append(entry)
            self.index[entry] = idx
        self.index[shape] = idx
        return idx

    def build(self, roots, specials):
        for q in roots:
            self.names[openapi_name(q)] = self.intern(("struct", q))
        for q, kind in specials.items():
            self.names[openapi_name(q)] = self.intern(("special", kind))
        # fill struct entries; interning fields may discover more structs
        done = set()
        while True:
            pending = [q for q in self.struct_idx if q not in done]
            if not pending:
                break
            for q in pending:
                done.add(q)
                fields = self.r.structs[q]
                entries = []
                for jname, shape, omitempty, omitzero in fields:
                    entries.append((jname, self.intern(shape),
                                    (1 if omitempty else 0) | (2 if omitzero else 0)))
                self.struct_entries[q] = entries
        # lay out fields struct by struct in type-table order
        for q, idx in sorted(self.struct_idx.items(), key=lambda kv: kv[1]):
            entries = self.struct_entries[q]
            self.types[idx] = ("Struct", len(self.fields), len(entries))
            self.fields.extend(entries)
            self.names.setdefault(openapi_name(q), idx)

    def describe_type(self, idx, depth=0):
        k, a, b = self.types[idx]
        if k == "Struct":
            for n, q in self.names.items():
                if q == idx:
                    return n
            return f"struct#{idx}"
        if k in ("Ptr", "Slice"):
            return f"{k}<{self.describe_type(a)}>"
        if k == "Map":
            return f"Map<{self.describe_type(a)},{self.describe_type(b)}>"
        if k == "Array":
            return f"[{b}]{self.describe_type(a)}"
        return k

    def describe(self, name):
        idx = self.names.get(name)
        if idx is None:
            return f"{name}: no facts"
        k, a, b = self.types[idx]
        if k != "Struct":
            return f"{name}: {k}"
        lines = [f"{name}:"]
        for n, t, fl in self.fields[a:a + b]:
            opts = ",".join(o for o, bit in (("omitempty", 1), ("omitzero", 2)) if fl & bit)
            lines.append(f"  {n:<32} {self.describe_type(t):<60} {opts}")
        return "\n".join(lines)

    def add_kinds(self, packages):
        self.kinds = []
        for path in ROOT_PACKAGES:
            pk = packages[path]
            if not pk.group_version or path == META:
                continue
            for kind in pk.kinds:
                n = openapi_name(f"{path}.{kind}")
                if n not in self.names:
                    raise GenError(f"{pk.group_version} registers {kind} but it has no facts")
                self.kinds.append((pk.group_version, kind, n))
        self.kinds.sort()

    def render(self, source_desc):
        if len(self.types) > 0xFFFF or len(self.fields) > 0xFFFF:
            raise GenError("table too large for u16 indices")
        out = []
        out.append("// Generated by scripts/gen-go-encoding-facts.py from the Go API types of")
        out.append(f"// {source_desc}.")
        out.append("// Do not edit.")
        out.append("//")
        out.append("// TYPES[i] = Ty(kind, a, b): Struct(first field, field count), Ptr/Slice(elem),")
        out.append("// Array(elem, len), Map(key, value), Schema*(JSONSchemaProps); scalars use neither.")
        out.append("// FIELDS[i] = F(json name, type, flags): flags 1 = omitempty, 2 = omitzero.")
        out.append("// NAMES[i] = (PREFIXES index, type name, type): OpenAPI definition names split at the")
        out.append("// last dot, both tables sorted for binary search.")
        out.append("// KINDS[i] = (apiVersion, NAMES index) for every kind a group/version registers (the")
        out.append("// kind is the type name); sorted by apiVersion, then kind.")
        out.append("")
        out.append("use super::model::Kind::*;")
        out.append("use super::model::{Ty, F};")
        out.append("")
        out.append("#[rustfmt::skip]")
        out.append(f"pub(crate) static TYPES: [Ty; {len(self.types)}] = [")
        line = []
        for i, (k, a, b) in enumerate(self.types):
            line.append(f"Ty({k},{a},{b}),")
            if len(line) == 8:
                out.append(f"/*{i - 7}*/" + "".join(line))
                line = []
        if line:
            out.append(f"/*{len(self.types) - len(line)}*/" + "".join(line))
        out.append("];")
        out.append("")
        out.append("#[rustfmt::skip]")
        out.append(f"pub(crate) static FIELDS: [F; {len(self.fields)}] = [")
        # one line per struct
        for q, idx in sorted(self.struct_idx.items(), key=lambda kv: kv[1]):
            _, first, count = self.types[idx]
            if count == 0:
                continue
            parts = "".join(f"F({json.dumps(n)},{t},{fl})," for n, t, fl in self.fields[first:first + count])
            out.append(f"/*{first}*/{parts}")
        out.append("];")
        out.append("")
        # definition names split into package prefix and type name to keep the table small
        split = sorted((n.rpartition(".")[0], n.rpartition(".")[2], idx) for n, idx in self.names.items())
        prefixes = sorted({p for p, _, _ in split})
        if len(prefixes) > 255:
            raise GenError("too many packages for u8 prefix indices")
        pidx = {p: i for i, p in enumerate(prefixes)}
        out.append("#[rustfmt::skip]")
        out.append(f"pub(crate) static PREFIXES: [&str; {len(prefixes)}] = [")
        for p in prefixes:
            out.append(f"{json.dumps(p)},")
        out.append("];")
        out.append("")
        out.append("#[rustfmt::skip]")
        out.append(f"pub(crate) static NAMES: [(u8, &str, u16); {len(split)}] = [")
        cur = None
        line = []
        for p, short, idx in split:
            if p != cur and line:
                out.append("".join(line))
                line = []
            cur = p
            line.append(f"({pidx[p]},{json.dumps(short)},{idx}),")
            if len(line) == 6:
                out.append("".join(line))
                line = []
        if line:
            out.append("".join(line))
        out.append("];")
        out.append("")
        # registered kinds: (apiVersion, kind, NAMES index)
        name_pos = {f"{p}.{short}": i for i, (p, short, _) in enumerate(split)}
        out.append("#[rustfmt::skip]")
        out.append(f"pub(crate) static KINDS: [(&str, u16); {len(self.kinds)}] = [")
        line = []
        cur = None
        for gv, kind, n in self.kinds:
            if gv != cur and line:
                out.append("".join(line))
                line = []
            cur = gv
            assert n.endswith("." + kind)
            line.append(f"({json.dumps(gv)},{name_pos[n]}),")
            if len(line) == 10:
                out.append("".join(line))
                line = []
        if line:
            out.append("".join(line))
        out.append("];")
        out.append("")
        return "\n".join(out)


# --------------------------------------------------------------------------------------
# OpenAPI cross-check

def openapi_check(openapi_dir, emitter):
    schemas = {}
    for f in sorted(glob.glob(os.path.join(openapi_dir, "*.json"))):
        with open(f) as fh:
            doc = json.load(fh)
        schemas.update(doc.get("components", {}).get("schemas", {}))
    missing = sorted(n for n in schemas if n not in emitter.names)
    mismatched = []
    for n, s in sorted(schemas.items()):
        idx = emitter.names.get(n)
        if idx is None:
            continue
        kind, first, count = emitter.types[idx]
        if kind != "Struct":
            continue
        ours = [f[0] for f in emitter.fields[first:first + count]]
        theirs = set(s.get("properties", {}).keys())
        if set(ours) != theirs:
            mismatched.append((n, sorted(set(ours) - theirs), sorted(theirs - set(ours))))
    return len(schemas), missing, mismatched


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("--openapi-dir")
    ap.add_argument("--out", default="-")
    ap.add_argument("--source-desc", help="provenance text for the header (default: SRC/SOURCE)")
    ap.add_argument("--show", action="append", default=[], metavar="DEFINITION",
                    help="print the facts of one definition in readable form (repeatable)")
    args = ap.parse_args()
    try:
        root = locate_root(args.src)
        packages = {}
        for path in ROOT_PACKAGES + SUPPORT_PACKAGES:
            packages[path] = load_package(root, path)
        res = Resolver(packages)
        roots = []
        for path in ROOT_PACKAGES:
            pk = packages[path]
            for name, decl in pk.types.items():
                q = f"{path}.{name}"
                if not name[:1].isupper() or q in SPECIAL:
                    continue
                try:
                    if decl.expr[0] not in ("struct", "ref") or res.struct_target(decl) is None:
                        continue
                    res.named(path, name)
                except GenError as e:
                    if path == META:
                        # meta/v1 holds machinery types (watch events, tables of
                        # unstructured rows, ...) that need packages we do not read
                        print(f"skip {q}: {e}", file=sys.stderr)
                        continue
                    raise
                roots.append(q)
        em = Emitter(res)
        em.build(roots, SPECIAL)
        em.add_kinds(packages)
        desc = args.source_desc
        if not desc:
            sf = os.path.join(args.src, "SOURCE")
            if os.path.exists(sf):
                with open(sf) as fh:
                    lines = [l.split() for l in fh if l.strip()]
                ref = next((l[1] for l in lines if l[0] == "ref"), "?")
                repos = ", ".join(f"{l[0]}@{l[1].rpartition('@')[2][:12]}" for l in lines if l[0] != "ref")
                m = re.fullmatch(r"v0\.(\d+)\.(\d+)", ref)
                kver = f"Kubernetes v1.{m.group(1)}.{m.group(2)} (staging tag {ref}: " if m else f"Kubernetes {ref} ("
                desc = f"{kver}{repos})"
            else:
                desc = os.path.abspath(args.src)
        for d in args.show:
            print(em.describe(d), file=sys.stderr)
        text = em.render(desc)
        status = 0
        if args.openapi_dir:
            total, missing, mismatched = openapi_check(args.openapi_dir, em)
            print(f"openapi: {total} definitions, {total - len(missing)} with facts, "
                  f"{len(missing)} missing, {len(mismatched)} with differing fields", file=sys.stderr)
            for n in missing:
                print(f"  missing: {n}", file=sys.stderr)
            for n, extra, lacking in mismatched:
                print(f"  fields differ: {n}: only in Go {extra}, only in OpenAPI {lacking}",
                      file=sys.stderr)
            if missing or mismatched:
                status = 1
        print(f"types={len(em.types)} fields={len(em.fields)} names={len(em.names)} "
              f"bytes={len(text.encode())}", file=sys.stderr)
        if args.out == "-":
            sys.stdout.write(text)
        else:
            with open(args.out, "w") as fh:
                fh.write(text)
        return status
    except GenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
