"""The compiled router: static paths in a dict, parameterised paths in a segment tree.

Built once when the app starts. A lookup costs one dict hit for a static path, and one walk
down the tree (static children first, then convertors by priority) for the rest — never a
scan over every route.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from plait._convertors import Convertor
from plait._routing import Segment

__all__ = ["Leaf", "Matcher", "RouteConflictError"]

T = TypeVar("T")

WEBSOCKET = "<websocket>"
"""The leaf key of a WebSocket endpoint, beside the HTTP methods: not a token (RFC 9110), so
no HTTP request's method can name it (a request ``WEBSOCKET /ws`` is a 404, not a crash)."""


class RouteConflictError(ValueError):
    """Two routes claim the same method on the same path pattern."""


class Leaf(Generic[T]):
    """Everything registered on one path pattern: handlers by method, and the parameter names
    each handler's route gave to the positional values the tree collected."""

    __slots__ = ("allow", "handlers", "names", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.handlers: dict[str, T] = {}
        self.names: dict[str, tuple[str, ...]] = {}
        self.allow = ""

    def params(self, method: str, values: list[Any]) -> dict[str, Any]:
        return dict(zip(self.names[method], values, strict=True))


class _Node(Generic[T]):
    __slots__ = ("leaf", "params", "rest", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node[T]] = {}
        self.params: list[tuple[str, Convertor, _Node[T]]] = []
        self.rest: tuple[Convertor, Leaf[T]] | None = None
        self.leaf: Leaf[T] | None = None


class Matcher(Generic[T]):
    """Maps a path to the :class:`Leaf` of handlers registered for it."""

    def __init__(self) -> None:
        self.static: dict[str, Leaf[T]] = {}
        self._root: _Node[T] = _Node()

    def add(self, segments: list[Segment], method: str, handler: T, describe: str) -> None:
        names = tuple(s[0] for s in segments if not isinstance(s, str))
        pattern = "/" + "/".join(s if isinstance(s, str) else "{" + s[1] + "}" for s in segments)
        if not names:
            leaf = self.static.get(pattern)
            if leaf is None:
                leaf = self.static[pattern] = Leaf(pattern)
        else:
            leaf = self._insert(segments, pattern)
        if method in leaf.handlers:
            raise RouteConflictError(
                f"Conflicting routes: {describe} and {leaf.handlers[method]!r} both handle "
                f"{method} {pattern}"
            )
        leaf.handlers[method] = handler
        leaf.names[method] = names
        leaf.allow = ", ".join(sorted(m for m in leaf.handlers if m != WEBSOCKET))

    def _insert(self, segments: list[Segment], pattern: str) -> Leaf[T]:
        node = self._root
        for segment in segments:
            if isinstance(segment, str):
                node = node.static.setdefault(segment, _Node())
                continue
            _, conv_name, convertor = segment
            if convertor.matches_rest:
                if node.rest is None:
                    node.rest = (convertor, Leaf(pattern))
                elif node.rest[0] is not convertor:
                    raise RouteConflictError(f"Conflicting catch-all parameters at {pattern}")
                return node.rest[1]
            for key, _conv, child in node.params:
                if key == conv_name:
                    node = child
                    break
            else:
                child = _Node()
                node.params.append((conv_name, convertor, child))
                node.params.sort(key=lambda entry: entry[1].priority)
                node = child
        if node.leaf is None:
            node.leaf = Leaf(pattern)
        return node.leaf

    def handlers(self) -> list[T]:
        """Every handler registered, each once (one registered for several methods too)."""
        leaves = list(self.static.values())
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.leaf is not None:
                leaves.append(node.leaf)
            if node.rest is not None:
                leaves.append(node.rest[1])
            stack.extend(node.static.values())
            stack.extend(child for _, _, child in node.params)
        seen: dict[int, T] = {}
        for leaf in leaves:
            for handler in leaf.handlers.values():
                seen.setdefault(id(handler), handler)
        return list(seen.values())

    def match(self, path: str, method: str) -> tuple[Leaf[T] | None, list[Any]]:
        """The best leaf for ``path``: one that has ``method`` if any candidate does.

        Returns ``(None, [])`` when nothing matches the path at all (a 404); a leaf
        without ``method`` means a 405.
        """
        return self.resolve(self.static.get(path), path, method)

    def resolve(
        self, leaf: Leaf[T] | None, path: str, method: str
    ) -> tuple[Leaf[T] | None, list[Any]]:
        """:meth:`match`, given the static leaf of ``path`` (``None`` if there is none).

        # PERF: the app looks the static dict up itself first; this spares it a second lookup.
        """
        if leaf is not None and method in leaf.handlers:
            return leaf, []
        parts = path[1:].split("/")
        # PERF: first the path a depth-first walk would try first (a static segment before
        # a parameter, convertors by priority), in one loop; only if that fails, the walk.
        node = self._root
        values: list[Any] = []
        for part in parts:
            child = node.static.get(part)
            if child is None:
                for _, convertor, candidate in node.params:
                    try:
                        values.append(convertor.convert(part))
                    except ValueError:
                        continue
                    child = candidate
                    break
                else:
                    break
            node = child
        else:
            found = node.leaf
            if found is not None and method in found.handlers:
                return found, values
        values = []
        found = self._walk(self._root, parts, 0, method, values)
        if found is not None:
            values.reverse()
            return found, values
        if leaf is not None:
            return leaf, []
        # No candidate has the method: report the first path match, for its Allow header.
        values = []
        fallback = self._walk(self._root, path[1:].split("/"), 0, None, values)
        values.reverse()
        return fallback, values

    def _walk(
        self, node: _Node[T], parts: list[str], index: int, method: str | None, values: list[Any]
    ) -> Leaf[T] | None:
        if index == len(parts):
            leaf = node.leaf
            if leaf is not None and (method is None or method in leaf.handlers):
                return leaf
            return None
        part = parts[index]
        child = node.static.get(part)
        if child is not None:
            found = self._walk(child, parts, index + 1, method, values)
            if found is not None:
                return found
        for _, convertor, child in node.params:
            try:
                value = convertor.convert(part)
            except ValueError:
                continue
            found = self._walk(child, parts, index + 1, method, values)
            if found is not None:
                values.append(value)
                return found
        if node.rest is not None:
            convertor, leaf = node.rest
            if method is None or method in leaf.handlers:
                try:
                    value = convertor.convert("/".join(parts[index:]))
                except ValueError:
                    return None
                values.append(value)
                return leaf
        return None
