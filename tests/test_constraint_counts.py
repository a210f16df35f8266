"""Constraint counts of the model zoo, kept in circuits/constraints.csv so that a
change in circuit size shows up in review (update the file on purpose)."""

from __future__ import annotations

import csv

from conftest import REPO, read


def test_digits_constraint_counts_match_the_recorded_ones(digits_build):
    rows = {r["circuit"]: r for r in csv.DictReader((REPO / "circuits" / "constraints.csv").open())}
    settings = read(digits_build / "settings.json")
    recorded = rows["digits_mlp"]
    assert (settings["constraints"], settings["variables"], settings["public_inputs"]) == (
        int(recorded["constraints"]),
        int(recorded["variables"]),
        int(recorded["public_inputs"]),
    )
