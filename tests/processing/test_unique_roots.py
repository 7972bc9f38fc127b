"""resolve_unique_roots on path sets shaped like lab data trees, against 7.2.0 when installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ataraxis_data_structures import resolve_unique_roots
from reference_release import REFERENCE7_PYTHON, needs_reference_7, run_reference_json

CASES: list[list[str]] = [
    ["/d/p/s1/raw/m.yaml"],
    ["/d/p/s1/raw/m.yaml", "/d/p/s2/raw/m.yaml"],
    ["/d/p/s1/raw/m.yaml", "/e/s2/m.yaml"],
    ["/x/a/b", "/y/b/a"],
    ["/r/A/raw/A", "/r/B/raw/B"],
    ["a/s1/m", "a/s2/m"],
    ["/d/z/x", "/d/a/y", "/d/q/w"],
    [],
]
FAILING: list[list[str]] = [
    ["/d/p/s1/raw/m.yaml", "/d/p/s2/raw/m.yaml", "/d/p/s1/proc/m.yaml"],
    ["/d/p/s1/raw/m.yaml", "/d/p/s1/raw/m.yaml"],
    ["/d/p/s1", "/d/p/s1/raw"],
    ["/d/m1/s1/raw/m.yaml", "/d/m2/s1/raw/m.yaml", "/d/m1/s2/raw/m.yaml"],
]


def test_each_path_is_cut_at_its_deepest_distinguishing_component() -> None:
    layout = "/data/project/mouse_{}/2026-11-0{}/raw_data/session_data.yaml"
    sessions = [Path(layout.format(mouse, day)) for mouse, day in ((1, 3), (2, 4))]
    assert resolve_unique_roots(sessions) == (
        Path("/data/project/mouse_1/2026-11-03"),
        Path("/data/project/mouse_2/2026-11-04"),
    )
    assert resolve_unique_roots((Path("/d/p/s1/raw/m.yaml"),)) == (Path("/d/p/s1/raw/m.yaml"),)  # a lone path
    assert resolve_unique_roots([]) == ()
    # The order of first appearance is kept.
    assert resolve_unique_roots([Path("/d/z/x"), Path("/d/a/y")]) == (Path("/d/z/x"), Path("/d/a/y"))


@pytest.mark.parametrize("paths", FAILING)
def test_paths_without_a_component_of_their_own_are_refused(paths: list[str]) -> None:
    with pytest.raises(ValueError, match=rf"{paths[0]}'.*shares all {len(Path(paths[0]).parts)} of its components"):
        resolve_unique_roots([Path(path) for path in paths])


@pytest.mark.reference
@needs_reference_7
def test_same_results_and_failures_as_7_2_0() -> None:
    code = (
        "import json; from pathlib import Path\n"
        "from ataraxis_data_structures.processing import resolve_unique_roots as r\n"
        "out = []\n"
        f"for case in {CASES + FAILING!r}:\n"
        "    try: out.append([str(p) for p in r([Path(p) for p in case])])\n"
        "    except ValueError: out.append('ValueError')\n"
        "print(json.dumps(out))"
    )
    ours: list[object] = []
    for case in CASES + FAILING:
        try:
            ours.append([str(path) for path in resolve_unique_roots([Path(p) for p in case])])
        except ValueError:
            ours.append("ValueError")
    assert run_reference_json(code, python=REFERENCE7_PYTHON, main_guard=True) == ours
