"""The fields of a library's config dataclass (trl.SFTConfig, transformers.TrainingArguments, peft.LoraConfig),
read from the installed library's source with `ast` instead of importing it.

Importing trl or peft loads torch and bitsandbytes (seconds); parsing their config modules takes milliseconds, so
`trainer.*`, `method.args.*` and `method.lora.*` (mappings passed through to these classes) can be checked before a
run starts. The answer always matches the installed version: nothing is re-described here. A class is found by its
public name (`trl.SFTConfig`): the package's `__init__` names the module it comes from (transformers' lazy
`__init__` too, in its TYPE_CHECKING imports), and base classes are followed the same way.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

_SIMPLE = frozenset({"int", "float", "bool", "None"})  # the kinds whose values can be checked without the class


@dataclass(frozen=True)
class Fields:
    """Field name -> the type names of its annotation (`int | None` -> {"int", "None"}). `complete` is False when a
    base class could not be read: then a name missing here may still be a field."""

    owner: str
    types: dict[str, frozenset[str]]
    complete: bool

    def checkable(self, name: str) -> frozenset[str] | None:
        """The field's types if all are int/float/bool/None (a value can be checked against them), else None."""
        kinds = self.types.get(name)
        return kinds if kinds and kinds <= _SIMPLE else None


@functools.cache
def fields_of(qualname: str) -> Fields | None:
    """`fields_of("trl.SFTConfig")`: its init fields, inherited ones included; None if the source is not found."""
    module, _, name = qualname.rpartition(".")
    found = _find_class(module, name)
    if found is None:
        return None
    types: dict[str, frozenset[str]] = {}
    complete = _collect(*found, types)
    return Fields(qualname, types, complete)


def _collect(module: str, cls: ast.ClassDef, types: dict, depth: int = 0) -> bool:
    """Fields of `cls` into `types`, bases first (a subclass's annotation wins); False if a base was not found."""
    complete = True
    for base in cls.bases:
        if not isinstance(base, ast.Name) or base.id in ("object", "Generic"):
            complete = complete and isinstance(base, ast.Name)
            continue
        found = _find_class(module, base.id) if depth < 8 else None
        complete = complete and found is not None and _collect(*found, types, depth + 1)
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if _is_classvar(stmt.annotation) or _init_false(stmt.value):
                types.pop(stmt.target.id, None)
                continue
            types[stmt.target.id] = frozenset(_type_names(stmt.annotation))
    return complete


@functools.cache
def _module_ast(module: str) -> ast.Module | None:
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level spec: the package is located, not imported
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return ast.parse(path.read_text(encoding="utf-8"))
    return None


def _find_class(module: str, name: str, depth: int = 0) -> tuple[str, ast.ClassDef] | None:
    """The module defining `name` as seen from `module` (defined there, or imported into it) and its ClassDef."""
    tree = _module_ast(module)
    if tree is None or depth > 4:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return module, node
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            alias = next(a for a in node.names if (a.asname or a.name) == name)
            return _find_class(_absolute(module, node), alias.name, depth + 1)
    return None


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = _module_ast(module + ".__init__") is not None
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _type_names(node: ast.expr) -> set[str]:
    """Names of the types an annotation allows; anything not a plain name (list[str], Literal[...]) by its head."""
    if isinstance(node, ast.Constant):
        if node.value is None:
            return {"None"}
        if isinstance(node.value, str):  # a string annotation
            try:
                return _type_names(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return {"?"}
        return {"?"}
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _type_names(node.left) | _type_names(node.right)
    if isinstance(node, ast.Subscript):
        head = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "?")
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head == "Optional":
            return _type_names(args[0]) | {"None"}
        if head == "Union":
            return set().union(*(_type_names(a) for a in args))
        return {head}
    return {"?"}


def _is_classvar(node: ast.expr) -> bool:
    head = node.value if isinstance(node, ast.Subscript) else node
    return getattr(head, "id", getattr(head, "attr", None)) == "ClassVar"


def _init_false(value: ast.expr | None) -> bool:
    """`field(init=False, ...)`: set by the class itself, not accepted by its constructor."""
    return (
        isinstance(value, ast.Call)
        and getattr(value.func, "id", getattr(value.func, "attr", None)) == "field"
        and any(k.arg == "init" and getattr(k.value, "value", None) is False for k in value.keywords)
    )
