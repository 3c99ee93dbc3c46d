"""The import graph of the webdl package: cycles, imports that run back up a layer, and
function-level imports. ``python tools/import_graph.py [src/webdl]`` prints a report;
tests/test_architecture.py asserts on the same analysis."""
import ast
import os
import sys

# The layers, bottom up: a module may import its own layer and the ones below it.
LAYERS = [
    ("dtypes", "random"),
    ("ops",),
    ("autograd", "storage", "backends"),
    ("tensor",),
    ("functions", "replay"),
    ("nn", "optim", "utils", "serialization", "tfjs", "display", "cuda", "amp",
     "accelerator", "suggest", "compile"),
    ("apps", "__init__", "__main__"),
]


def layer_of(module):
    """The layer index of a module name relative to the package (``ops.base``)."""
    top = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    return None


def _module_name(root, path):
    rel = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
    return rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def _resolve(module, is_pkg, node):
    """The package-relative name an ImportFrom/Import refers to, or None if external."""
    if isinstance(node, ast.Import):
        return [a.name[len("webdl."):] for a in node.names if a.name.startswith("webdl.")]
    if node.level == 0:
        if node.module and node.module.startswith("webdl"):
            base = node.module[len("webdl."):] if node.module != "webdl" else ""
        else:
            return []
    else:
        parts = module.split(".") if module != "__init__" else []
        if not is_pkg:
            parts = parts[:-1]
        parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
        base = ".".join(parts + ([node.module] if node.module else []))
    if node.module is None or base == "":      # from . import a, b
        return [f"{base}.{a.name}".strip(".") for a in node.names]
    return [base]


def analyse(root):
    """{module: [(imported module, line, at module level)]} for every module of the package."""
    graph = {}
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(d, f)
            name = _module_name(root, path)
            tree = ast.parse(open(path).read(), path)
            top = {id(n) for n in tree.body}
            edges = []
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for target in _resolve(name, f == "__init__.py", node):
                        edges.append((target or "__init__", node.lineno, id(node) in top))
            graph[name or "__init__"] = edges
    return graph


def back_references(graph):
    out = []
    for mod, edges in graph.items():
        for target, line, _ in edges:
            a, b = layer_of(mod), layer_of(target)
            if a is not None and b is not None and b > a:
                out.append(f"{mod}:{line} imports {target}")
    return out


def function_level(graph):
    return [f"{mod}:{line} imports {t} inside a function" for mod, edges in graph.items()
            for t, line, top in edges if not top]


def cycles(graph):
    """Strongly connected components of more than one module (imports anywhere in a
    module, function-level ones included: they still tie the modules together)."""
    nodes = set(graph)

    def owner(t):       # an imported name may be a symbol of a module: find the module
        while t and t not in nodes:
            t = t.rpartition(".")[0]
        return t or None
    adj = {m: {owner(t) for t, _, _ in e if owner(t) and owner(t) != m}
           for m, e in graph.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            # a package importing its own submodules is not a circle
            if len(comp) > 1 and not all(c.startswith(min(comp, key=len)) for c in comp):
                out.append(sorted(comp))
    for v in sorted(adj):
        if v not in index:
            visit(v)
    return out


def main(root):
    g = analyse(root)
    sizes = sorted(((sum(1 for _ in open(os.path.join(d, f))), os.path.relpath(
        os.path.join(d, f), root)) for d, _, fs in os.walk(root) for f in fs
        if f.endswith(".py")), reverse=True)
    print(f"modules: {len(g)}")
    print("cycles:", cycles(g) or "none")
    print("back-references:", back_references(g) or "none")
    print("function-level imports:", function_level(g) or "none")
    print("largest files:", ", ".join(f"{p} ({n})" for n, p in sizes[:5]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "webdl"))
