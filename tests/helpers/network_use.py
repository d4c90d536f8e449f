"""Which workflow rules reach the network, found by reading the code (no list kept by hand).

A library function reaches the network when its body uses a network client
(requests, urllib3, astroquery, huggingface_hub, urllib.request, http.client,
socket, torch.hub) or calls a library function that does, in its own module or
imported from another (found to a fixed point). A rule reaches the network when
its script calls such a function. The rules are read from workflow/rules/*.smk:
`rule <name>:` followed by its `script:`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

NETWORK_CLIENTS = ("requests", "urllib3", "astroquery", "huggingface_hub", "urllib.request", "http.client", "socket",
                   "torch.hub", "httpx")
PACKAGE = "galaxy_pretraining"


def _is_client(module: str) -> bool:
    return any(module == client or module.startswith(client + ".") for client in NETWORK_CLIENTS)


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str | None, level: int, current: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


class _Module:
    """One library module: what its names point at, and which names each of its functions uses."""

    def __init__(self, name: str, tree: ast.Module, is_package: bool):
        self.name = name
        self.aliases: dict[str, str] = {}  # local name -> "module" or "module:function"
        self.functions: dict[str, set[str]] = {}  # function -> dotted names used in its body
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(node.module, node.level, name, is_package)
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{module}:{alias.name}"
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = _used_names(node)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.functions[f"{node.name}.{item.name}"] = _used_names(item)

    def targets(self, dotted: str) -> list[str]:
        """What a name used in this module points at: 'module', 'module:function' or a function of this module."""
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            target = self.aliases[head]
            if rest and ":" not in target:
                return [target + "." + rest, f"{target}:{rest.split('.')[0]}"]
            if rest and ":" in target:  # an imported submodule or class: from . import sdss; sdss.fetch()
                module, name = target.split(":")
                return [target, f"{module}.{name}:{rest.split('.')[0]}", f"{module}:{name}.{rest.split('.')[0]}"]
            return [target]
        return [f"{self.name}:{dotted.split('.')[0]}", f"{self.name}:{dotted}"]


def _used_names(node: ast.AST) -> set[str]:
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            parts = []
            current = child
            while isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name):
                names.add(".".join([current.id, *reversed(parts)]))
        elif isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):  # imports inside the function
            for alias in child.names:
                module = child.module if isinstance(child, ast.ImportFrom) else alias.name
                if module and _is_client(module):
                    names.add("<network client>")
    return names


def network_functions(src: Path) -> set[str]:
    """'module:function' of every library function that reaches the network."""
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        name = _module_name(path, src)
        modules[name] = _Module(name, ast.parse(path.read_text()), path.name == "__init__.py")
    reaching: set[str] = set()
    changed = True
    while changed:
        changed = False
        for module in modules.values():
            for function, used in module.functions.items():
                key = f"{module.name}:{function}"
                if key in reaching:
                    continue
                for dotted in used:
                    hits = dotted == "<network client>" or any(
                        _is_client(t.split(":")[0]) or t in reaching for t in module.targets(dotted))
                    if hits:
                        reaching.add(key)
                        changed = True
                        break
    return reaching


def rule_scripts(workflow: Path) -> dict[str, Path]:
    """{rule name: its script} for every rule in workflow/rules/*.smk. A rule named in a loop (`rule:` with
    `name: <expression>`, the training rules) is listed under its expression, e.g. `group.rule_name`."""
    scripts = {}
    for smk in sorted((workflow / "rules").glob("*.smk")):
        for match in re.finditer(r"^\s*rule(?: (\w+))?:\n(.*?)(?=^\s*rule[ :]|\Z)", smk.read_text(), re.M | re.S):
            script = re.search(r"script:\s*\n\s*\"([^\"]+)\"", match.group(2))
            name = match.group(1) or re.search(r"name:\s*\n\s*(\S+)", match.group(2)).group(1)
            if script:
                scripts[name] = (smk.parent / script.group(1)).resolve()
    return scripts


def network_rules(root: Path) -> set[str]:
    """Names of the rules whose scripts call a library function that reaches the network."""
    reaching = network_functions(root / "src")
    found = set()
    for rule, script in rule_scripts(root / "workflow").items():
        module = _Module("__script__", ast.parse(script.read_text()), False)
        used = set().union(*module.functions.values(), _used_names(ast.parse(script.read_text())))
        if any(t in reaching or _is_client(t.split(":")[0]) for dotted in used for t in module.targets(dotted)):
            found.add(rule)
    return found
