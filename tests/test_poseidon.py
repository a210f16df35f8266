"""zkml.poseidon against circomlibjs (npm): the same vectors as the Rust tests
in native/src/gadgets/poseidon.rs, printed by

    mkdir -p /tmp/pos && (cd /tmp/pos && npm install circomlibjs@0.1.7)
    node scripts/poseidon_vectors.mjs /tmp/pos/node_modules/circomlibjs
"""

from __future__ import annotations

import pytest

import zkml
from zkml import _native
from zkml.errors import InputShapeError, QuantizationError
from zkml.poseidon import FIELD_MODULUS, MAX_INPUTS, poseidon

CIRCOMLIBJS_VECTORS = [
    ([1], 18586133768512220936620570745912940619677854269274689475585506675881198879027),
    ([1, 2], 7853200120776062878684798364095072458815029376092732009249414926327459813530),
    ([1, 2, 3], 6542985608222806190361240322586112750744169038454362455181422643027100751666),
    ([1, 2, 3, 4], 18821383157269793795438455681495246036402687001665670618754263018637548127333),
    ([1, 2, 3, 4, 5], 6183221330272524995739186171720101788151706631170188140075976616310159254464),
    ([1, 2, 3, 4, 5, 6], 20400040500897583745843009878988256314335038853985262692600694741116813247201),
    ([1, 2, 3, 4, 5, 6, 7], 12748163991115452309045839028154629052133952896122405799815156419278439301912),
    ([1, 2, 3, 4, 5, 6, 7, 8], 18604317144381847857886385684060986177838410221561136253933256952257712543953),
    ([0], 19014214495641488759237505126948346942972912379615652741039992445865937985820),
    ([0, 0], 14744269619966411208579211824598458697587494354926760081771325075741142829156),
    (
        [FIELD_MODULUS - 1, 12345678901234567890],
        8584215072946584385670673892489518368420903212235422128958394191300596385038,
    ),
    ([-3, 7, -1], 1807473814354608518650996625050823192479225457150402200968326485715056310982),
]


@pytest.mark.parametrize(("values", "expected"), CIRCOMLIBJS_VECTORS, ids=lambda v: str(v)[:24])
def test_poseidon_matches_circomlibjs(values, expected):
    assert poseidon(values) == expected


def test_poseidon_of_one_and_two_is_circomlibs_well_known_hash():
    assert zkml.poseidon([1, 2]) == 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A


def test_native_binding_takes_decimal_strings_or_ints_and_returns_a_decimal():
    expected = str(CIRCOMLIBJS_VECTORS[1][1])
    assert _native.poseidon(["1", "2"]) == expected
    assert _native.poseidon([1, 2]) == expected
    assert _native.poseidon([1, "2"]) == expected


@pytest.mark.parametrize("bad", ["-1", "01", "0x1", "", str(FIELD_MODULUS), -1, FIELD_MODULUS])
def test_native_binding_refuses_values_outside_the_field_rather_than_reducing(bad):
    with pytest.raises(QuantizationError):
        _native.poseidon([bad])


def test_native_binding_refuses_a_bool_or_float():
    with pytest.raises(TypeError):
        _native.poseidon([True])
    with pytest.raises(TypeError):
        _native.poseidon([1.0])  # type: ignore[list-item]


def test_inputs_per_hash_are_one_to_eight():
    with pytest.raises(InputShapeError):
        _native.poseidon([])
    with pytest.raises(InputShapeError):
        _native.poseidon([1] * (MAX_INPUTS + 1))


def test_wrapper_maps_negatives_to_r_minus_x_and_refuses_aliases():
    assert poseidon([-3, 7, -1]) == poseidon([FIELD_MODULUS - 3, 7, FIELD_MODULUS - 1])
    for bad in [FIELD_MODULUS, -FIELD_MODULUS, FIELD_MODULUS + 1]:
        with pytest.raises(ValueError):
            poseidon([bad])
    with pytest.raises(TypeError):
        poseidon([True])
    with pytest.raises(TypeError):
        poseidon(["1"])  # type: ignore[list-item]


def test_any_changed_input_changes_the_hash():
    base = [5, 6, 7]
    h = poseidon(base)
    for k in range(len(base)):
        changed = list(base)
        changed[k] += 1
        assert poseidon(changed) != h
    # Order matters, and a trailing zero is not padding.
    assert poseidon([7, 6, 5]) != h
    assert poseidon([5, 6, 7, 0]) != h
