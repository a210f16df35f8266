"""circomlibjs's Solidity Poseidon contracts hash as zkml.poseidon does, and the
library ZkmlCommitment (zkml/data/ZkmlCommitment.sol), calling them in pyrevm,
recomputes the salted commitment of a tensor exactly as its definition
(docs/poseidon.md, "Commitments") says: the reference here is written from
that definition with zkml.poseidon.poseidon, independently of the circuit.

The gas of one commitment of a 784-value 8-bit tensor (the figure in
docs/poseidon.md) is printed by

    .venv/bin/pytest tests/evm/test_poseidon_contract.py -k gas -s
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from zkml.errors import EvmError
from zkml.evm import InProcessChain, compile_verifier
from zkml.evm.eth import abi_decode, abi_encode, selector
from zkml.evm.poseidon_contract import (
    MAX_INPUTS,
    PINNED_VERSION,
    circomlibjs_version,
    library_source,
    poseidon_contract,
    poseidon_contracts,
)
from zkml.evm.tools import contracts_dir, node_executable
from zkml.poseidon import FIELD_MODULUS as R
from zkml.poseidon import poseidon

REPO = Path(__file__).resolve().parents[2]

# The definition, in numbers: 252 bits per element, at most 5 elements
# besides the chained h per hash (6 inputs: circomlibjs's largest contract).
PACK_BITS = 252
ELEMENTS_PER_HASH = 5


def reference_pack(values: list[int], bits: int) -> list[int]:
    k, offset = PACK_BITS // bits, 1 << (bits - 1)
    for x in values:
        assert -offset <= x < offset
    return [sum((x + offset) << (bits * t) for t, x in enumerate(values[j:j + k]))
            for j in range(0, len(values), k)]


def reference_commitment(values: list[int], bits: int, salt: int) -> int:
    """h = s; h = Poseidon([h] ++ C) for each chunk C of up to 5 packed elements."""
    assert 2 <= bits <= 64 and 0 <= salt < R
    elements = reference_pack(values, bits)
    h = salt
    for c in range(0, len(elements), ELEMENTS_PER_HASH):
        h = poseidon([h, *elements[c:c + ELEMENTS_PER_HASH]])
    return h


HARNESS = """
contract CommitmentHarness {
    function commit(int256[] calldata values, uint256 bits, uint256 salt, address[5] calldata poseidon)
        external view returns (uint256)
    {
        return ZkmlCommitment.commit(values, bits, salt, poseidon);
    }

    function pack(int256[] calldata values, uint256 bits) external pure returns (uint256[] memory) {
        return ZkmlCommitment.pack(values, bits);
    }

    function lastCall(uint256 count, uint256 bits) external pure returns (uint256, uint256) {
        return ZkmlCommitment.lastCall(count, bits);
    }

    function commitPacked(uint256[] calldata elements, uint256 salt, address[5] calldata poseidon)
        external view returns (uint256)
    {
        return ZkmlCommitment.commitPacked(elements, salt, poseidon);
    }

    function elementsPerHash() external pure returns (uint256) {
        return ZkmlCommitment.ELEMENTS_PER_HASH;
    }
}
"""
COMMIT = "commit(int256[],uint256,uint256,address[5])"
ERRORS = {
    "BitsOutOfRange(uint256)": ["uint256"],
    "ValueOutOfRange(uint256,int256)": ["uint256", "int256"],
    "SaltOutOfRange(uint256)": ["uint256"],
    "ElementOutOfRange(uint256)": ["uint256"],
    "PoseidonCallFailed(address,uint256)": ["address", "uint256"],
}
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def chain():
    return InProcessChain()


@pytest.fixture(scope="module")
def hashers(chain) -> dict[int, str]:
    """{n: address of circomlibjs's n-input Poseidon contract}, n = 1..6."""
    return {n: chain.deploy(contract.bytecode) for n, contract in poseidon_contracts().items()}


@pytest.fixture(scope="module")
def harness(chain) -> str:
    # compile.js takes one self-contained file, so the harness is appended to the library.
    return chain.deploy(compile_verifier(library_source() + HARNESS, "CommitmentHarness").bytecode)


def addresses(hashers) -> list[str]:
    """commit's poseidon argument: poseidon[n - 2] is the n-input contract."""
    return [hashers[n] for n in range(2, MAX_INPUTS + 1)]


def call_commit(chain, harness, values, bits, salt, poseidon):
    calldata = selector(COMMIT) + abi_encode(["int256[]", "uint256", "uint256", "address[5]"],
                                             [list(values), bits, salt, list(poseidon)])
    return chain.call(harness, calldata)


def commit(chain, harness, hashers, values, bits, salt) -> int:
    result = call_commit(chain, harness, values, bits, salt, addresses(hashers))
    assert result.success, result.failure
    return abi_decode(["uint256"], result.output)[0]


def revert_error(output: bytes) -> tuple:
    for signature, types in ERRORS.items():
        if output[:4] == selector(signature):
            return (signature.split("(")[0], *abi_decode(types, output[4:]))
    raise AssertionError(f"not a ZkmlCommitment error: 0x{output.hex()}")


# --- circomlibjs's Poseidon contracts -----------------------------------------------------------


def test_the_pinned_circomlibjs_is_the_one_that_generated_the_contracts():
    package = json.loads((REPO / "contracts" / "package.json").read_text())
    assert package["dependencies"]["circomlibjs"] == PINNED_VERSION == circomlibjs_version()
    lock = json.loads((REPO / "contracts" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/circomlibjs"]["version"] == PINNED_VERSION


@pytest.mark.parametrize("n", range(1, MAX_INPUTS + 1))
def test_circomlibjs_contract_hashes_as_zkml_poseidon(chain, hashers, n):
    contract = poseidon_contract(n)
    assert {(entry["name"], entry["inputs"][0]["type"]) for entry in contract.abi} == {
        ("poseidon", f"uint256[{n}]"), ("poseidon", f"bytes32[{n}]")}
    rng = random.Random(n)
    cases = [[0] * n, [R - 1] * n, [rng.choice([0, R - 1]) for _ in range(n)], list(range(1, n + 1))]
    cases += [[rng.randrange(R) for _ in range(n)] for _ in range(4)]
    for values in cases:
        result = chain.call(hashers[n], contract.calldata(values))
        assert result.success, result.failure
        assert int.from_bytes(result.output, "big") == poseidon(values), values


def test_circomlibjs_cannot_build_contracts_beyond_six_inputs():
    """circomlibjs 0.1.7's createCode accepts 7 and 8 but needs DUP17 for them
    (iden3/circomlibjs#17): the node script and the Python module refuse them."""
    for n in (0, 7, 8):
        with pytest.raises(ValueError, match="1 to 6 inputs"):
            poseidon_contract(n)
    r = subprocess.run([node_executable(), "poseidon_contract.js", "7"], capture_output=True, text=True,
                       cwd=contracts_dir())
    assert r.returncode == 2 and "iden3/circomlibjs#17" in r.stderr, r.stderr
    r = subprocess.run([node_executable(), "-e", "require('circomlibjs').poseidonContract.createCode(7)"],
                       capture_output=True, text=True, cwd=contracts_dir())
    assert r.returncode != 0 and "Assertion failed" in r.stderr


def test_contracts_are_generated_once_per_process():
    assert poseidon_contracts() == poseidon_contracts()
    assert poseidon_contracts()[3] is poseidon_contract(3)


# --- ZkmlCommitment ------------------------------------------------------------------------------


def _extremes(bits: int) -> list[int]:
    return [-(1 << (bits - 1)), (1 << (bits - 1)) - 1]


def _tensor(rng: random.Random, count: int, bits: int) -> list[int]:
    low, high = _extremes(bits)
    return [rng.choice([low, high, rng.randint(low, high)]) for _ in range(count)]


TENSORS = [
    # (bits, count): k = floor(252 / bits) values per element, m elements, ceil(m / 5) hashes.
    (8, 784),   # k = 31, m = 26 (last element 9 values): 6 hashes, the last with 2 inputs
    (2, 130),   # k = 126, m = 2 (last element 4 values): one 3-input hash
    (3, 1),     # one element holding one value: one 2-input hash
    (16, 150),  # k = 15, m = 10: exactly two full 6-input hashes
    (64, 17),   # k = 3, m = 6 (last element 2 values): a 6-input then a 2-input hash
    (32, 100),  # k = 7, m = 15: three full hashes
    (5, 1000),  # k = 50, m = 20: four full hashes
    (63, 35),   # k = 4, m = 9 (last element 3 values): a 6-input then a 5-input hash
    (16, 45),   # k = 15, m = 3: one 4-input hash
]


@pytest.mark.parametrize(("bits", "count"), TENSORS, ids=lambda v: str(v))
def test_commitment_matches_the_definition(chain, harness, hashers, bits, count):
    rng = random.Random(bits * 1000 + count)
    values = _tensor(rng, count, bits)
    for salt in (rng.randrange(R), 0, R - 1):
        assert commit(chain, harness, hashers, values, bits, salt) == reference_commitment(values, bits, salt)
    packed = abi_decode(["uint256[]"], chain.call(harness, selector("pack(int256[],uint256)") + abi_encode(
        ["int256[]", "uint256"], [values, bits])).output)[0]
    assert list(packed) == reference_pack(values, bits)


@pytest.mark.parametrize("bits", [2, 8, 64])
def test_commitment_of_the_negative_and_positive_extremes(chain, harness, hashers, bits):
    low, high = _extremes(bits)
    for values in ([low] * 40, [high] * 40, [low, high] * 20):
        assert commit(chain, harness, hashers, values, bits, 7) == reference_commitment(values, bits, 7)
    # Every packed element all ones: the largest elements a tensor of this width can give.
    assert reference_pack([high] * (PACK_BITS // bits), bits) == [(1 << (bits * (PACK_BITS // bits))) - 1]


def test_the_library_chains_five_elements_per_hash_as_the_reference_does(chain, harness):
    out = chain.call(harness, selector("elementsPerHash()")).output
    assert abi_decode(["uint256"], out)[0] == ELEMENTS_PER_HASH == MAX_INPUTS - 1


def test_the_circuits_commitment_is_the_one_the_library_recomputes():
    """zkml.poseidon.commitment (what the circuit computes; tests/test_privacy.py
    holds the two equal) against the definition: if they differed, no contract
    could check a hashed tensor's commitment."""
    from zkml.poseidon import commitment as circuit_commitment

    rng = random.Random(5)
    for bits, count in TENSORS:
        values, salt = _tensor(rng, count, bits), rng.randrange(R)
        assert int(circuit_commitment(values, bits, salt)) == reference_commitment(values, bits, salt), (
            f"{bits}-bit, {count} values: the circuit must chain {ELEMENTS_PER_HASH} elements per hash, "
            "the most circomlibjs's 6-input Poseidon contract takes")


def test_the_commitment_of_no_values_is_the_salt(chain, harness, hashers):
    assert commit(chain, harness, hashers, [], 8, 12345) == 12345 == reference_commitment([], 8, 12345)


def test_the_commitment_binds_order_salt_and_width(chain, harness, hashers):
    values = list(range(-10, 10))
    base = commit(chain, harness, hashers, values, 8, 1)
    assert base != commit(chain, harness, hashers, values[::-1], 8, 1)
    assert base != commit(chain, harness, hashers, values, 8, 2)
    assert base != commit(chain, harness, hashers, values, 9, 1)
    assert base != commit(chain, harness, hashers, [*values, 0], 8, 1)


@pytest.mark.parametrize(("bits", "count"), [(8, 784), (64, 17), (3, 1), (8, 0), (16, 150)])
def test_last_call_says_which_contracts_are_needed(chain, harness, hashers, bits, count):
    calls, last_inputs = abi_decode(["uint256", "uint256"], chain.call(harness, selector(
        "lastCall(uint256,uint256)") + abi_encode(["uint256", "uint256"], [count, bits])).output)
    m = len(reference_pack([0] * count, bits))
    assert calls == -(-m // ELEMENTS_PER_HASH)
    assert last_inputs == (m - (calls - 1) * ELEMENTS_PER_HASH + 1 if calls else 0)
    # Only the 6-input contract and the last call's are needed; the other entries may be zero.
    needed = {n: hashers[n] for n in ({MAX_INPUTS} if calls > 1 else set()) | ({last_inputs} if calls else set())}
    only = [needed.get(n, ZERO) for n in range(2, MAX_INPUTS + 1)]
    values = _tensor(random.Random(count), count, bits)
    result = call_commit(chain, harness, values, bits, 99, only)
    assert result.success, result.failure
    assert abi_decode(["uint256"], result.output)[0] == reference_commitment(values, bits, 99)


def test_commitment_gas_of_a_784_value_8_bit_tensor(chain, harness, hashers):
    values = _tensor(random.Random(784), 784, 8)
    result = call_commit(chain, harness, values, 8, 42, addresses(hashers))
    assert result.success and abi_decode(["uint256"], result.output)[0] == reference_commitment(values, 8, 42)
    print(f"\nZkmlCommitment.commit, 784 values of 8 bits (26 elements, 6 Poseidon calls): "
          f"{result.execution_gas} gas of execution, {result.gas_used} for the whole transaction "
          f"(calldata of {len(values)} int256 words included)")
    assert 100_000 < result.execution_gas < 2_000_000


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2, 8, 64])
def test_a_value_outside_the_bit_width_reverts_naming_it(chain, harness, hashers, bits):
    low, high = _extremes(bits)
    for bad in (high + 1, low - 1):
        values = [0, 1, -1, bad, 0]
        result = call_commit(chain, harness, values, bits, 5, addresses(hashers))
        assert not result.success
        assert revert_error(result.output) == ("ValueOutOfRange", 3, bad)


@pytest.mark.parametrize("bits", [0, 1, 65, 256])
def test_a_bit_width_outside_2_to_64_reverts(chain, harness, hashers, bits):
    result = call_commit(chain, harness, [0], bits, 5, addresses(hashers))
    assert not result.success and revert_error(result.output) == ("BitsOutOfRange", bits)


def test_a_salt_outside_the_field_reverts(chain, harness, hashers):
    for salt in (R, 2**256 - 1):
        result = call_commit(chain, harness, [1, 2], 8, salt, addresses(hashers))
        assert not result.success and revert_error(result.output) == ("SaltOutOfRange", salt)


def test_commit_packed_takes_field_elements_and_refuses_r(chain, harness, hashers):
    signature = "commitPacked(uint256[],uint256,address[5])"
    elements = [R - 1, 0, 5, 1 << 251, 3, 2, 1]
    calldata = selector(signature) + abi_encode(["uint256[]", "uint256", "address[5]"], [elements, 9, addresses(hashers)])
    expected = poseidon([poseidon([9, *elements[:5]]), *elements[5:]])
    assert abi_decode(["uint256"], chain.call(harness, calldata).output)[0] == expected
    calldata = selector(signature) + abi_encode(["uint256[]", "uint256", "address[5]"],
                                                [[1, 2, R], 9, addresses(hashers)])
    result = chain.call(harness, calldata)
    assert not result.success and revert_error(result.output) == ("ElementOutOfRange", 2)


def test_a_missing_poseidon_contract_reverts_naming_the_arity(chain, harness, hashers):
    poseidon = addresses(hashers)
    poseidon[2 - 2] = ZERO  # one element: a 2-input hash
    result = call_commit(chain, harness, [1, 2], 8, 5, poseidon)
    name, address, n_inputs = revert_error(result.output)
    assert not result.success and (name, address.lower(), n_inputs) == ("PoseidonCallFailed", ZERO, 2)
    poseidon = addresses(hashers)
    poseidon[2 - 2] = hashers[3]  # a contract of the wrong arity answers nothing (INVALID on its selector)
    result = call_commit(chain, harness, [1, 2], 8, 5, poseidon)
    name, address, n_inputs = revert_error(result.output)
    assert not result.success and (name, address.lower(), n_inputs) == ("PoseidonCallFailed", hashers[3].lower(), 2)


def test_calldata_of_the_wrong_length_is_refused_in_python():
    with pytest.raises(ValueError, match="takes 2 values"):
        poseidon_contract(2).calldata([1, 2, 3])
    with pytest.raises(EvmError):
        poseidon_contract(1).calldata([R * 2**10])
