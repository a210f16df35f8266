"""docs/SECURITY.md's attack table names tests: each must exist, so the table
cannot drift from the suite."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_test_named_in_the_security_page_exists():
    text = (REPO / "docs" / "SECURITY.md").read_text()
    refs = set(re.findall(r"`([a-z_0-9]+\.(?:py|rs))::([A-Za-z_0-9]+)", text))
    assert len(refs) >= 25, refs
    missing = []
    for file, name in sorted(refs):
        # tests/ mirrors the package's folders: a test file is named by its basename
        root = REPO / "tests" if file.endswith(".py") else REPO / "native" / "src"
        paths = list(root.rglob(file))
        pattern = re.compile(rf"(def|fn) {re.escape(name)}\b")
        if not any(p.exists() and pattern.search(p.read_text()) for p in paths):
            missing.append(f"{file}::{name}")
    assert not missing, missing
