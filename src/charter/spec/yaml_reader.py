"""Reading YAML the way charter does: safe constructors, YAML 1.2 booleans, and hard limits.

A charter file is input from whoever can write to the workspace, so reading it must end, quickly,
with either data or a problem that names the field. :func:`load_yaml` therefore refuses, each as a
:class:`YamlProblem` phrased ``"field.path: what is wrong (line N)"``:

- a key given twice in one mapping (YAML says keys are unique; PyYAML lets the last one win, so
  a second ``owner:`` appended to a file would silently replace the first);
- nesting deeper than :data:`MAX_DEPTH` (PyYAML composes recursively: a RecursionError otherwise);
- more than :data:`MAX_NODES` nodes once aliases are expanded (a few KB of ``&a [*a, *a, ...]``
  "billion laughs" expand to gigabytes), and aliases that refer to themselves;
- integers beyond ±:data:`MAX_INT` (a 5,000-digit number would pass YAML and fail everything
  after it);
- a value its tag cannot read (``!!int 'x'``, a timestamp like ``2024-13-45``).

The size of the text itself is bounded by the caller (:data:`MAX_FILE_BYTES`).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 100_000
MAX_INT = 10**18
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlProblem(yaml.YAMLError):
    """One problem in the YAML text, already phrased for the author (``problem``)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def format_path(loc: list[Any] | tuple[Any, ...]) -> str:
    """``["data", "fields", "x", 0]`` as ``data.fields.x[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so ``on:`` and ``no`` stay strings."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class BoundedLoader(_Yaml12Loader):
    """The charter YAML loader: remembers each node's field path and enforces the limits."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[Any] = []
        self.paths: dict[int, tuple[Any, ...]] = {}

    def where(self, node: Node, detail: str) -> YamlProblem:
        path = format_path(self.paths.get(id(node), ()))
        line = node.start_mark.line + 1
        return YamlProblem(f"{path}: {detail} (line {line})" if path else f"line {line}: {detail}")

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        if isinstance(index, ScalarNode):
            label: Any = index.value
        elif isinstance(index, int):
            label = index
        else:
            label = None if parent is None else "<key>"
        if label is not None:
            self._path.append(label)
        if len(self._path) > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            where = format_path(self._path[:MAX_DEPTH])
            raise YamlProblem(
                f"{where}: nested more than {MAX_DEPTH} levels deep (line {mark.line + 1})"
            )
        node = super().compose_node(parent, index)
        self.paths[id(node)] = tuple(self._path)
        if label is not None:
            self._path.pop()
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError, ArithmeticError, AttributeError) as exc:
            # AttributeError: PyYAML's timestamp reader on a value that is no timestamp ('never')
            tag = node.tag.rsplit(":", 1)[-1]
            shown = node.value if isinstance(node, ScalarNode) else node.tag
            why = "not in the form that tag takes" if isinstance(exc, AttributeError) else exc
            raise self.where(node, f"cannot read {shown!r} as {tag}: {why}") from None

    def construct_bounded_int(self, node: ScalarNode) -> int:
        digits = str(node.value).lstrip("+-").replace("_", "")
        if len(digits) > 20:
            raise self.where(node, f"a {len(digits)}-digit integer is over the limit of 10**18")
        value: int = self.construct_yaml_int(node)
        if abs(value) > MAX_INT:
            raise self.where(node, f"integer {value} is over the limit of 10**18")
        return value


BoundedLoader.add_constructor(_INT_TAG, BoundedLoader.construct_bounded_int)


def load_yaml(text: str) -> tuple[Any, Node | None]:
    """The data in ``text`` and its node tree; raise :class:`YamlProblem` or ``yaml.YAMLError``."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_tree(loader, node)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def read_yaml(text: str) -> Any:
    """Parse YAML the way charter does (YAML 1.2 booleans, safe constructors only, limits)."""
    return load_yaml(text)[0]


def _check_tree(loader: BoundedLoader, root: Node) -> None:
    """Refuse duplicate keys, recursive aliases, and trees that expand past :data:`MAX_NODES`."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_NODES:
                raise loader.where(
                    node, f"more than {MAX_NODES} values once aliases are expanded (alias bomb?)"
                )
            continue
        if key in sizes:
            continue
        if key in active:
            raise loader.where(node, "an alias refers to the value that contains it")
        active.add(key)
        if isinstance(node, MappingNode):
            _check_unique_keys(loader, node)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_unique_keys(loader: BoundedLoader, node: MappingNode) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _value in node.value:
        if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
            continue
        line, ident = key.start_mark.line + 1, (key.tag, key.value)
        if ident not in seen:
            seen[ident] = line
        else:
            first = seen[ident]
            path = format_path([*loader.paths.get(id(node), ()), key.value])
            raise YamlProblem(
                f"{path}: the key {key.value!r} is given twice, on line {first} and line {line}; "
                "keep one"
            )
