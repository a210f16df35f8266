"""`make test` compiles the native crate's dependencies once: maturin's build
(feature `python`, no dev-dependencies) and `cargo test --lib` (dev-dependencies,
no `python`) share every dependency's build only while both resolve the same
features for each crate they both use (native/Cargo.toml names the mirrored ones)."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO

# "ark-poly v0.5.0 [default,parallel]", "derivative v2.2.0 (proc-macro) [use_core]",
# "zkml-native v0.1.0 (/path/native) [default]"; a repeat ends in " (*)".
LINE = re.compile(r"^(?P<crate>\S+ v\S+)(?: \([^)]*\))? \[(?P<features>[^\]]*)\](?: \(\*\))?$")


def resolved_features(*args: str) -> dict[str, str]:
    tree = subprocess.run(
        ["cargo", "tree", "--locked", "-p", "zkml-native", "--prefix", "none", "-f", "{p} [{f}]", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    crates = {}
    for line in tree.splitlines():
        match = LINE.match(line)
        assert match, f"unexpected cargo tree line: {line!r}"
        crates[match["crate"]] = match["features"]
    return crates


def test_maturin_and_cargo_test_resolve_the_same_features_for_every_shared_crate():
    maturin = resolved_features("--features", "python", "-e", "normal,build")
    cargo_test = resolved_features("-e", "normal,build,dev")
    shared = (maturin.keys() & cargo_test.keys()) - {"zkml-native v0.1.0"}
    assert {"ark-ff", "ark-poly", "digest", "libc"} <= {crate.split()[0] for crate in shared}
    differ = {crate: (maturin[crate], cargo_test[crate]) for crate in sorted(shared) if maturin[crate] != cargo_test[crate]}
    assert not differ, (
        "these crates would compile twice in `make test` (features under maturin, under cargo test); "
        f"name the missing features in native/Cargo.toml: {differ}"
    )
