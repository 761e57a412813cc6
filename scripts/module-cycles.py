#!/usr/bin/env python3
"""Import cycles between the crate's top-level modules.

    scripts/module-cycles.py            the uses of each top-level module, then every cycle
    scripts/module-cycles.py --quiet    only the cycles (nothing when there are none)

A top-level module is one that `src/lib.rs` (the library) or `src/main.rs` (the binary)
declares with `mod`; its files are `src/<name>.rs` or `src/<name>/mod.rs` and everything under
`src/<name>/`. Module A uses module B when a file of A names `crate::B…` (in a `use` line or in
an expression, also inside `crate::{…}` groups), or reaches B through enough `super::` to climb
out of A. Names re-exported by the crate root (`crate::Error` from `pub use error::…`) count as
uses of the module they come from. Comments, doc links, strings and `#[cfg(test)]` code are
all read alike except comments and strings, which are skipped: a test module's imports are
imports too. The two crates are separate graphs: `sfdbtools::…` in the binary is the library
seen from outside and cannot close a cycle.

Exits 1 when there is a cycle, so CI can run it; every edge of a cycle is printed with the
file and line that make it, which is where to start cutting.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
MAX_CYCLES = 200
# The crate root's own items (a function in main.rs, a re-export lib.rs does not map).
ROOT_NODE = "(root)"


def strip(text):
    """`text` with comments, strings and char literals blanked (newlines kept for line numbers)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not text[i - 1].isalnum() and text[i - 1] != "_"):
            end = text.find('"' + m.group(1), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not text[i - 1].isalnum())):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(blank(text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}', b'x' handled via the 'b' before it being
            # an identifier char); otherwise a lifetime or label, which is kept.
            m = re.match(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'", text[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def declared_modules(root_file):
    """Names declared by `mod x;` in a crate root, and `pub use x::…` re-exports (name → module)."""
    text = strip(root_file.read_text())
    mods = re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_]\w*)\s*;", text, re.M)
    reexports = {}
    for m in re.finditer(r"^\s*pub(?:\([^)]*\))?\s+use\s+([A-Za-z_]\w*)::([^;]+);", text, re.M | re.S):
        module, rest = m.group(1), m.group(2)
        for name in re.findall(r"(?:\bas\s+)?([A-Za-z_]\w*)\s*(?=[,}]|$)", rest.strip()):
            reexports[name] = module
    return mods, reexports


def module_files(name):
    files = []
    single = SRC / f"{name}.rs"
    if single.exists():
        files.append(single)
    folder = SRC / name
    if folder.is_dir():
        files.extend(sorted(folder.rglob("*.rs")))
    return files


def depth_of(path, top):
    """How many `super::` climb from the file's own module to the crate root."""
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts.pop()
    return len(parts)


def group_heads(text, start):
    """First segments of the items of a `{…}` group whose `{` is at `start`."""
    depth, i, item_start, heads = 0, start, start + 1, []
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                heads.append(text[item_start:i])
                break
        elif ch == "," and depth == 1:
            heads.append(text[item_start:i])
            item_start = i + 1
        i += 1
    out = []
    for item in heads:
        m = re.match(r"\s*([A-Za-z_]\w*)", item)
        if m:
            out.append(m.group(1))
    return out


def uses_of(path, top, modules, reexports):
    """(target module, line) for every reference from `path` to another top-level module."""
    text = strip(path.read_text())
    base_depth = depth_of(path, top)
    # Inline `mod x { … }` blocks add a level for `super::` inside them.
    inline = []  # brace depth at which each open inline module started
    opens = {m.end() - 1 for m in re.finditer(r"\bmod\s+[A-Za-z_]\w*\s*\{", text)}
    level_at = {}
    depth = 0
    for i, ch in enumerate(text):
        if ch == "{":
            if i in opens:
                inline.append(depth)
            depth += 1
        elif ch == "}":
            depth -= 1
            if inline and inline[-1] == depth:
                inline.pop()
        level_at[i] = len(inline)

    def resolve(name):
        if name in modules:
            return name
        return reexports.get(name, ROOT_NODE)

    found = []
    for m in re.finditer(r"(?<![\w$])(crate\s*::|(?:super\s*::\s*)+)\s*(\{|[A-Za-z_]\w*)", text):
        head = m.group(1)
        if not head.startswith("crate"):
            # `super::` climbs one level each; only a climb out of the top-level module counts.
            if head.count("super") < base_depth + level_at.get(m.start(), 0):
                continue
        line = text.count("\n", 0, m.start()) + 1
        if m.group(2) == "{":
            names = group_heads(text, m.end() - 1)
        else:
            names = [m.group(2)]
        for name in names:
            if name in ("self", "super", "crate"):
                continue
            target = resolve(name)
            if target != top:
                found.append((target, line))
    return found


def graph_of(root_file, label):
    modules, reexports = declared_modules(root_file)
    edges = defaultdict(lambda: defaultdict(list))  # a -> b -> [file:line]
    for top in modules:
        for f in module_files(top):
            for target, line in uses_of(f, top, set(modules), reexports):
                edges[top][target].append(f"{f.relative_to(ROOT)}:{line}")
    # The root names its modules bare (`cli::Args`) as well as through `crate::`.
    text = strip(root_file.read_text())
    for m in re.finditer(r"(?<![\w:$])(?:crate\s*::\s*)?([A-Za-z_]\w*)\s*::", text):
        if m.group(1) in modules:
            line = text.count("\n", 0, m.start()) + 1
            edges[ROOT_NODE][m.group(1)].append(f"{root_file.relative_to(ROOT)}:{line}")
    return label, modules, edges


def cycles(nodes, edges):
    """Every elementary cycle, each once, starting at its smallest node (Johnson-style search)."""
    order = sorted(nodes)
    found = []
    for s_idx, s in enumerate(order):
        allowed = set(order[s_idx:])
        stack, on_path = [s], {s}

        def walk(v):
            for w in sorted(edges.get(v, {})):
                if w not in allowed:
                    continue
                if w == s:
                    found.append(list(stack))
                    if len(found) >= MAX_CYCLES:
                        return True
                elif w not in on_path:
                    stack.append(w)
                    on_path.add(w)
                    if walk(w):
                        return True
                    stack.pop()
                    on_path.discard(w)
            return False

        if walk(s):
            break
    return sorted(found, key=lambda c: (len(c), c))


def main():
    quiet = "--quiet" in sys.argv[1:]
    roots = [(SRC / "lib.rs", "library (src/lib.rs)"), (SRC / "main.rs", "binary (src/main.rs)")]
    any_cycle = False
    for root_file, label in roots:
        if not root_file.exists():
            continue
        label, modules, edges = graph_of(root_file, label)
        nodes = set(modules) | {ROOT_NODE}
        if not quiet:
            print(f"== {label}: crate::<top> uses per top-level module")
            for top in sorted(modules) + [ROOT_NODE]:
                uses = edges.get(top, {})
                listed = ", ".join(f"{t}({len(uses[t])})" for t in sorted(uses)) or "-"
                print(f"  {top:<12} -> {listed}")
        found = cycles(nodes, edges)
        if found:
            any_cycle = True
            print(f"== {label}: {len(found)} cycle(s){' (first ' + str(MAX_CYCLES) + ')' if len(found) >= MAX_CYCLES else ''}")
            for c in found:
                print("  " + " -> ".join(c + [c[0]]))
                for a, b in zip(c, c[1:] + [c[0]]):
                    where = edges[a][b]
                    more = f" (+{len(where) - 3} more)" if len(where) > 3 else ""
                    print(f"      {a} -> {b}: {', '.join(where[:3])}{more}")
        elif not quiet:
            print(f"== {label}: no cycles")
    return 1 if any_cycle else 0


if __name__ == "__main__":
    sys.exit(main())
