"""Who calls which function, read from the same parse as the model's scopes: enough to tell
which synchronous helpers an `async def` calls on the event loop (directly or through other
helpers), so a blocking call inside such a helper can be reported where it blocks the loop.

Calls are resolved by name only where the name is unambiguous without running anything:
`helper(...)` to a module-level function of the same module or one imported by name
(`from .clients import helper`), `clients.helper(...)` to a function of a project module
imported as `clients` (`from . import clients`, `import shop.clients as clients`, `import
shop.clients` called as `shop.clients.helper(...)`), and `self.method(...)`/`cls.method(...)`
to a method of the caller's own class. Attribute calls on other objects (`service.fetch()`)
are not resolved:
which class the object has is not known from the source alone. A function handed to a thread
(`asyncio.to_thread(helper)`, `loop.run_in_executor(None, helper)`, `run_in_threadpool`,
`sync_to_async`, `executor.submit`) is not a call on the loop, nor is anything inside a lambda
or a nested function (run later, by whoever receives it).
"""
from __future__ import annotations

import ast
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# Calls that hand their function argument to another thread: nothing inside their arguments
# runs on the event loop as a call of the caller's.
OFFLOADERS = frozenset({"to_thread", "run_in_executor", "run_in_threadpool", "sync_to_async", "run_sync",
                        "submit", "deferToThread", "defer_to_thread", "run_in_thread", "run_blocking"})
HELPER_DEPTH = 3  # an async function's helper, its helper, and that one's


@dataclass(frozen=True)
class LoopCall:
    """The call on the event loop through which a helper runs: the async function and where it
    calls the first helper of the chain."""

    async_name: str
    path: str
    line: int


Key = tuple[str, int]  # (path, first line of the function, decorators included), as model Scopes


@dataclass
class CallGraph:
    """Functions and methods by name, each file's `from ... import` names, and the calls that
    async functions make. A synchronous helper's own calls are read only when an async
    function is found to call it (a second, small parse of that function's text): reading
    every call of every function costs as much as the rest of the model's reading."""

    functions: dict[Key, tuple[str, bool, Key | None, int, int]] = field(default_factory=dict)  # name, async, class, def..end
    calls: dict[Key, list[tuple[str, str, int]]] = field(default_factory=dict)
    imports: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # path -> local -> module as written, name
    module_names: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> local -> module (`import a.b as m`)
    module_functions: dict[str, list[Key]] = field(default_factory=lambda: defaultdict(list))
    methods: dict[tuple[Key, str], Key] = field(default_factory=dict)

    def read(self, path: str, tree: ast.Module) -> None:
        imports: dict[str, tuple[str, str]] = {}
        module_names: dict[str, str] = {}
        todo: list[tuple[ast.AST, Key | None]] = [(n, None) for n in tree.body]
        while todo:  # module and class level only (and the if/try/with blocks there)
            node, cls = todo.pop()
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    imports[alias.asname or alias.name] = (module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:  # `import a.b` binds `a`; `import a.b as m` binds `m` to a.b
                    local = alias.asname or alias.name.split(".")[0]
                    module_names[local] = alias.name if alias.asname else local
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = (path, min([d.lineno for d in node.decorator_list] + [node.lineno]))
                is_async = isinstance(node, ast.AsyncFunctionDef)
                self.functions[key] = (node.name, is_async, cls, node.lineno, node.end_lineno or node.lineno)
                if cls is None:
                    self.module_functions[node.name].append(key)
                else:
                    self.methods[(cls, node.name)] = key
                if is_async:
                    self.calls[key] = calls_in(node)
            elif isinstance(node, ast.ClassDef):
                key = (path, min([d.lineno for d in node.decorator_list] + [node.lineno]))
                todo.extend((child, key) for child in node.body)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                todo.extend((child, cls) for field_name in ("body", "orelse", "finalbody", "handlers")
                            for child in getattr(node, field_name, ()) or ())
            elif isinstance(node, ast.ExceptHandler):
                todo.extend((child, cls) for child in node.body)
        self.imports[path] = imports
        self.module_names[path] = module_names

    def resolve(self, caller: Key, kind: str, name: str) -> Key | None:
        if kind == "self":
            cls = self.functions[caller][2]
            return self.methods.get((cls, name)) if cls else None
        path = caller[0]
        if kind == "attr":
            return self._resolve_in_module(path, name)
        local = [k for k in self.module_functions.get(name, ()) if k[0] == path]
        if local:
            return local[-1]  # the last definition wins, as at import time
        imported = self.imports.get(path, {}).get(name)
        if imported is None:
            return None
        module, original = imported
        return self._function_of(path, module, original)

    def _resolve_in_module(self, path: str, dotted: str) -> Key | None:
        """`clients.helper` or `shop.clients.helper`: a function of the project module the
        first name was imported as (a submodule by `from . import clients`, a module by
        `import shop.clients`)."""
        head, *middle, function = dotted.split(".")
        if head in self.module_names.get(path, {}):
            module = ".".join([self.module_names[path][head], *middle])
        elif head in self.imports.get(path, {}):
            package, name = self.imports[path][head]  # `from . import clients`: package "."
            separator = "" if not package or package.endswith(".") else "."
            module = package + separator + ".".join([name, *middle])
        else:
            return None
        return self._function_of(path, module, function)

    def _function_of(self, importer: str, module: str, function: str) -> Key | None:
        """The module-level `function` of the one scanned file that `module`, as written in
        `importer`, names. An absolute import may also name a file of a scan that starts inside
        the package root (`from pkg.clients import x`, the file `clients.py`)."""
        found = [k for k in self.module_functions.get(function, ()) if imports_module(importer, module, k[0])
                 or (not module.startswith(".") and module.endswith("." + dotted_module(k[0])))]
        return found[0] if len(found) == 1 else None

    def loop_helpers(self, on_loop, source_of) -> dict[Key, LoopCall]:
        """Every synchronous function that an async function for which `on_loop(key)` holds
        calls on the event loop, with the first such call found. `source_of(path)` gives a
        file's text, to read a helper's own calls."""
        reached: dict[Key, LoopCall] = {}
        frontier = [key for key, (_name, is_async, *_rest) in self.functions.items() if is_async and on_loop(key)]
        for _ in range(HELPER_DEPTH):
            following = []
            for key in frontier:
                for kind, callee, line in self._calls_of(key, source_of):
                    target = self.resolve(key, kind, callee)
                    if target is None or self.functions[target][1] or target in reached:
                        continue
                    # an async caller starts the chain; a helper passes on how it was reached
                    reached[target] = reached.get(key) or LoopCall(self.functions[key][0], key[0], line)
                    following.append(target)
            frontier = following
        return reached

    def _calls_of(self, key: Key, source_of) -> list[tuple[str, str, int]]:
        if key not in self.calls:
            _name, _async, _cls, first, last = self.functions[key]
            lines = (source_of(key[0]) or "").splitlines()[first - 1:last]
            try:
                node = ast.parse(textwrap.dedent("\n".join(lines))).body[0]
            except (SyntaxError, ValueError, RecursionError, IndexError):
                node = None
            self.calls[key] = calls_in(node, first - 1) if node is not None else []
        return self.calls[key]


def dotted_name(node) -> str:
    """`a.b.c` for an attribute chain on a name, else ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def calls_in(function: ast.AST, offset: int = 0) -> list[tuple[str, str, int]]:
    """The calls a function makes itself, by name, through self/cls or through a dotted name
    (`clients.helper`, resolved later if it names a project module): not inside nested
    functions or lambdas (they run later), nor inside the arguments of a call that hands work
    to a thread."""
    out = []
    todo = list(getattr(function, "body", ()))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name in OFFLOADERS:
                todo.append(callee)
                continue
            if isinstance(callee, ast.Name):
                out.append(("name", callee.id, node.lineno + offset))
            elif (isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)
                  and callee.value.id in ("self", "cls")):
                out.append(("self", callee.attr, node.lineno + offset))
            elif isinstance(callee, ast.Attribute) and (dotted := dotted_name(callee)):
                out.append(("attr", dotted, node.lineno + offset))  # `clients.helper(...)`
        todo.extend(ast.iter_child_nodes(node))
    return out


# Which file a Python import names (also the model's: star-imports, registrations).

def imports_module(importer: str, module: str, target: str) -> bool:
    """Whether `from <module> import *` in file `importer` names the file `target` (paths
    relative to the scan root): relative imports from the importer's package; absolute ones
    by their dotted path, which must end the target's (the root of sys.path is unknown)."""
    named = module.lstrip(".")
    level = len(module) - len(named)
    if not level:
        return bool(named) and module_matches(target, named)
    package = PurePosixPath(importer).parent.parts
    return dotted_module(target) == ".".join([*package[:len(package) - (level - 1)], *filter(None, named.split("."))])


def dotted_module(path: str) -> str:
    """`shop/settings/base.py` -> `shop.settings.base`; a package's `__init__.py` is the package."""
    stem = PurePosixPath(path).with_suffix("").as_posix()
    if stem.endswith("/__init__"):
        stem = stem[: -len("/__init__")]
    return stem.replace("/", ".")


def module_matches(path: str, module: str) -> bool:
    if not module:
        return True
    dotted = dotted_module(path)
    return dotted == module or dotted.endswith("." + module)
