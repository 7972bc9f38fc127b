"""Reduces paths that share a layout to the component that tells each apart (its session or recording), as 7.2.0."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

__all__ = ["resolve_unique_roots"]


def resolve_unique_roots(paths: list[Path] | tuple[Path, ...]) -> tuple[Path, ...]:
    """Resolves the target paths to the deepest ancestor of each whose name no other path carries.

    Paths sharing a layout (``/data/mouse/session_1/raw/marker.yaml``, ``/data/mouse/session_2/raw/marker.yaml``)
    differ only in the components naming their asset; each path is cut after its deepest component that appears in
    no other path (``/data/mouse/session_1``). A lone path resolves to itself.

    Args:
        paths: The paths to resolve. Every path must carry at least one component that no other path carries.

    Returns:
        The resolved ancestors, one per distinct root, in the order the first path resolving to each one appears.

    Raises:
        ValueError: If any path shares every one of its components with the other paths.
    """
    converted = [Path(path) for path in paths]
    # How many paths carry each component (a path naming a component twice counts once).
    carriers = Counter(part for path in converted for part in set(path.parts))
    roots: dict[Path, None] = {}
    for path in converted:
        parts = path.parts
        for index in range(len(parts) - 1, -1, -1):
            if carriers[parts[index]] == 1:
                roots.setdefault(Path(*parts[: index + 1]), None)
                break
        else:
            if len(converted) == 1:  # a lone path has nothing to differ from, even if it is empty
                roots.setdefault(path, None)
                continue
            raise ValueError(
                f"Unable to find the distinguishing component of the path {str(path)!r}: every path must carry at "
                f"least one component that no other path carries, but this one shares all {len(parts)} of its "
                f"components with the others."
            )
    return tuple(roots)
