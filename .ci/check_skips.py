"""Fail CI when a test was skipped for any reason but a missing system tool the README names.

    .venv/bin/python .ci/check_skips.py test-artifacts/junit.xml

Reads the JUnit XML that `make test PYTEST_ARGS=--junitxml=...` writes. A skip is allowed only when
its message names Java (the Spark tests) or Chromium (the browser tests of the reports); any other
skip (a missing Python package, missing reference data, ...) is listed and the exit status is 1.
Expected failures (`xfail`, reported by pytest as skips of type pytest.xfail) are not skips; they
are listed for information.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

ALLOWED = re.compile(r"\bjava\b|\bchromium\b", re.IGNORECASE)


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    bad, tools, xfail = [], [], []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        for skip in case.findall("skipped"):
            message = skip.get("message", "") or (skip.text or "")
            if skip.get("type") == "pytest.xfail":
                xfail.append((name, message))
            elif ALLOWED.search(message):
                tools.append((name, message))
            else:
                bad.append((name, message))
    if tools:
        print(f"{len(tools)} test(s) skipped for a missing system tool (Java / Chromium):")
        for name, message in tools:
            print(f"  {name}: {message}")
    if xfail:
        print(f"{len(xfail)} expected failure(s) (xfail):")
        for name, message in xfail:
            print(f"  {name}: {message}")
    if bad:
        print(f"FAIL: {len(bad)} test(s) skipped for another reason; a test must not skip for "
              "missing data or Python packages:")
        for name, message in bad:
            print(f"  {name}: {message}")
        return 1
    print("skips: none other than missing Java / Chromium")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
