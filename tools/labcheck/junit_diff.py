"""Lists the tests whose outcome or failure class differs between two JUnit reports (release first, ours second)."""

from __future__ import annotations

import sys
from xml.etree import ElementTree


def outcomes(path: str) -> dict[str, tuple[str, str]]:
    """Maps ``class::name`` to (outcome, first line of the failure message) for one report."""
    result: dict[str, tuple[str, str]] = {}
    for case in ElementTree.parse(path).iter("testcase"):
        key = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome, message = (
                    kind,
                    (element.get("message") or "").splitlines()[0][:300] if element.get("message") else "",
                )
                break
        result[key] = (outcome, message)
    return result


def main() -> int:
    """Prints each differing test with both outcomes; exit status 1 if any differ."""
    release, ours = outcomes(sys.argv[1]), outcomes(sys.argv[2])
    differing = 0
    for key in sorted(set(release) | set(ours)):
        a, b = release.get(key, ("missing", "")), ours.get(key, ("missing", ""))
        # Both failing still differs when the exception class differs (e.g. a timing failure vs our refusal).
        if a[0] != b[0] or (a[0] != "passed" and a[1].split(":")[0] != b[1].split(":")[0]):
            differing += 1
            print(f"{key}\n  release: {a[0]} {a[1]}\n  ours:    {b[0]} {b[1]}")
    print(f"{differing} test(s) differ ({len(release)} in the release run, {len(ours)} in ours)")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
