"""Who calls which function, read from the same parse as the model's scopes: enough to tell
which synchronous helpers an `async def` calls on the event loop (directly or through other
helpers), so a blocking call inside such a helper can be reported where it blocks the loop.

Calls are resolved by name only where the name is unambiguous without running anything:
`helper(...)` to a module-level function of the same module or one imported by name
(`from .clients import helper`), and `self.method(...)`/`cls.method(...)` to a method of the
caller's own class. Attribute calls on other objects (`service.fetch()`) are not resolved:
which class the object has is not known from the source alone. A function handed to a thread
(`asyncio.to_thread(helper)`, `loop.run_in_executor(None, helper)`, `run_in_threadpool`,
`sync_to_async`, `executor.submit`) is not a call on the loop, nor is anything inside a lambda
or a nested function (run later, by whoever receives it).
"""
from __future__ import annotations

import ast
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
    functions: dict[Key, tuple[str, bool, Key | None]] = field(default_factory=dict)  # name, is async, class
    calls: dict[Key, list[tuple[str, str, int]]] = field(default_factory=lambda: defaultdict(list))
    imports: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # path -> local -> module, name
    module_functions: dict[str, list[Key]] = field(default_factory=lambda: defaultdict(list))
    methods: dict[tuple[Key, str], Key] = field(default_factory=dict)

    def read(self, path: str, tree: ast.Module) -> None:
        imports = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = _absolute(path, node.level, node.module or "")
                for alias in node.names:
                    imports[alias.asname or alias.name] = (module, alias.name)
        self.imports[path] = imports
        todo: list[tuple[ast.AST, Key | None, Key | None]] = [(n, None, None) for n in tree.body]
        while todo:
            node, fn, cls = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = (path, min([d.lineno for d in node.decorator_list] + [node.lineno]))
                self.functions[key] = (node.name, isinstance(node, ast.AsyncFunctionDef), cls)
                if fn is None and cls is None:
                    self.module_functions[node.name].append(key)
                elif cls is not None:
                    self.methods[(cls, node.name)] = key
                todo.extend((child, key, None) for child in node.body)
                continue
            if isinstance(node, ast.ClassDef):
                key = (path, min([d.lineno for d in node.decorator_list] + [node.lineno]))
                todo.extend((child, fn, key if fn is None else None) for child in node.body)
                continue
            if isinstance(node, ast.Lambda):
                continue
            if isinstance(node, ast.Call):
                callee = node.func
                name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
                if name in OFFLOADERS:
                    todo.append((callee, fn, cls))
                    continue
                if fn is not None:
                    if isinstance(callee, ast.Name):
                        self.calls[fn].append(("name", callee.id, node.lineno))
                    elif (isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)
                          and callee.value.id in ("self", "cls")):
                        self.calls[fn].append(("self", callee.attr, node.lineno))
            todo.extend((child, fn, cls) for child in ast.iter_child_nodes(node))

    def resolve(self, caller: Key, kind: str, name: str) -> Key | None:
        if kind == "self":
            cls = self.functions[caller][2]
            return self.methods.get((cls, name)) if cls else None
        path = caller[0]
        local = [k for k in self.module_functions.get(name, ()) if k[0] == path]
        if local:
            return local[-1]  # the last definition wins, as at import time
        imported = self.imports.get(path, {}).get(name)
        if imported is None:
            return None
        module, original = imported
        found = [k for k in self.module_functions.get(original, ()) if _is_module(k[0], module)]
        return found[0] if len(found) == 1 else None

    def loop_helpers(self, on_loop) -> dict[Key, LoopCall]:
        """Every synchronous function that an async function for which `on_loop(key)` holds
        calls on the event loop, with the first such call found."""
        reached: dict[Key, LoopCall] = {}
        frontier: list[Key] = []
        for key, (name, is_async, _cls) in self.functions.items():
            if not is_async or not on_loop(key):
                continue
            for kind, callee, line in self.calls.get(key, ()):
                target = self.resolve(key, kind, callee)
                if target is not None and not self.functions[target][1] and target not in reached:
                    reached[target] = LoopCall(name, key[0], line)
                    frontier.append(target)
        for _ in range(HELPER_DEPTH - 1):
            following = []
            for key in frontier:
                for kind, callee, _line in self.calls.get(key, ()):
                    target = self.resolve(key, kind, callee)
                    if target is not None and not self.functions[target][1] and target not in reached:
                        reached[target] = reached[key]
                        following.append(target)
            frontier = following
        return reached


def _absolute(path: str, level: int, module: str) -> str:
    """`from ..clients import x` in pkg/sub/views.py is pkg.clients."""
    if not level:
        return module
    package = list(PurePosixPath(path).with_suffix("").parts[:-1])
    base = package[:len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module] if module else base)


def _is_module(path: str, module: str) -> bool:
    """Whether the file at `path` is `module` (a scan may start above or inside the package
    root, so the dotted path only has to end with the module's name)."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    dotted = ".".join(parts)
    return bool(module) and (dotted == module or dotted.endswith("." + module) or module.endswith("." + dotted))
