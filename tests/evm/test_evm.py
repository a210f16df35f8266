"""The Solidity Groth16 verifier: rendered, compiled with the pinned solc, run in pyrevm.

Proofs come from tests/evm_fixtures.py (trapdoor instances, no prover). Every
rejection test also checks the call did not revert: the verifier answers
false, it never throws on a well-formed call.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest
from eth_hash.auto import keccak as keccak256
from eth_utils import function_signature_to_4byte_selector as function_selector

from evm_fixtures import (
    Q,
    R,
    g1_point_off_curve,
    g2_point_outside_subgroup,
    generator_delta_vk,
    groth16_instance,
    tampered,
)
from zkml.errors import EvmError, InputFileError, ProofFormatError, ToolMissingError
from zkml.evm import (
    InProcessChain,
    bn254,
    compile_verifier,
    contracts_dir,
    encode_snarkjs_verify_call,
    encode_verify_call,
    intrinsic_gas,
    proof_calldata,
    render_verifier,
    snarkjs_calldata,
    split_proof8,
    write_verifier,
)
from zkml.evm.calldata import snarkjs_verify_signature, verify_signature
from zkml.evm.verifier import MAX_PUBLIC_INPUTS

N = 3  # public inputs of the instance most tests use

if not (contracts_dir() / "node_modules" / "solc").is_dir() or shutil.which("node") is None:
    # Not a skip: these checks are part of what "tests pass" means. `make test`
    # installs node's packages; a bare pytest run without them must fail loudly.
    raise RuntimeError("these tests need node and `npm ci` in contracts/ (`make test` does both)")


@functools.cache
def _compiled(n_public: int, seed: int = 0):
    return compile_verifier(render_verifier(groth16_instance(n_public, seed)["vk"]))


@pytest.fixture(scope="session")
def chain() -> InProcessChain:
    return InProcessChain()


@pytest.fixture(scope="session")
def deployed(chain):
    """address of the verifier for groth16_instance(n, seed), deployed once."""
    addresses = {}

    def get(n_public: int, seed: int = 0) -> str:
        if (n_public, seed) not in addresses:
            addresses[(n_public, seed)] = chain.deploy(_compiled(n_public, seed).bytecode)
        return addresses[(n_public, seed)]

    return get


@pytest.fixture(scope="session")
def instance():
    return groth16_instance(N)


@pytest.fixture(scope="session")
def words(instance):
    return proof_calldata(instance["proof"], instance["public"])


PRECOMPILE_FAILED = keccak256(b"PrecompileFailed()")[:4]


def _reverts_with_precompile_failed(chain, address, proof8, inputs, gas=None) -> bool:
    result = chain.call(address, encode_verify_call(proof8, inputs), gas=gas)
    return not result.success and result.output == PRECOMPILE_FAILED


def _verdict(chain, address, proof8, inputs) -> bool:
    """The verifier's answer; fails the test if the call reverted."""
    ok, _gas = chain.verify(address, proof8, inputs)
    return ok


# --- valid proofs -----------------------------------------------------------


@pytest.mark.parametrize("n_public", [1, 2, 3, 6])
def test_valid_proof_is_accepted_by_both_overloads(chain, deployed, n_public):
    inst = groth16_instance(n_public)
    address = deployed(n_public)
    proof8, inputs = proof_calldata(inst["proof"], inst["public"])

    ok, gas = chain.verify(address, proof8, inputs)
    ok_snarkjs, gas_snarkjs = chain.verify_snarkjs(address, *split_proof8(proof8), inputs)

    assert ok and ok_snarkjs
    # One 4-pair pairing (181,000) and one ecMul + ecAdd per input (6,150)
    # are the floor; the rest is 21,000 intrinsic, calldata and a little code.
    floor = 21_000 + 181_000 + 6_150 * n_public
    assert floor < gas < floor + 30_000
    if 2 <= n_public <= 6:
        assert 200_000 <= gas <= 260_000
    assert abs(gas_snarkjs - gas) < 1_000  # same code, another selector


def test_gas_is_transaction_gas_with_intrinsic_cost(chain, deployed, words):
    proof8, inputs = words
    calldata = encode_verify_call(proof8, inputs)
    result = chain.call(deployed(N), calldata)
    assert result.success
    assert result.intrinsic_gas == intrinsic_gas(calldata)
    assert 21_000 + 4 * len(calldata) <= result.intrinsic_gas <= 21_000 + 16 * len(calldata)
    assert result.gas_used == result.intrinsic_gas + result.execution_gas
    precompiles = 181_000 + 6_150 * N
    assert precompiles < result.execution_gas < precompiles + 10_000
    assert chain.verify(deployed(N), proof8, inputs)[1] == result.gas_used


def test_snarkjs_calldata_text_drives_the_snarkjs_overload(chain, deployed, instance):
    import json

    a, b, c, inputs = json.loads("[" + snarkjs_calldata(instance["proof"], instance["public"]) + "]")
    to_int = lambda v: int(v, 16)  # noqa: E731
    ok, _ = chain.verify_snarkjs(
        deployed(N), [to_int(v) for v in a], [[to_int(v) for v in row] for row in b],
        [to_int(v) for v in c], [to_int(v) for v in inputs],
    )
    assert ok


def test_calldata_puts_the_imaginary_part_of_b_first(instance, words):
    proof8, inputs = words
    (bx0, bx1), (by0, by1), _ = instance["proof"]["pi_b"]
    assert proof8[2:6] == [int(bx1), int(bx0), int(by1), int(by0)]
    assert proof8[:2] == [int(v) for v in instance["proof"]["pi_a"][:2]]
    assert proof8[6:] == [int(v) for v in instance["proof"]["pi_c"][:2]]
    assert inputs == [int(v) for v in instance["public"]]


# --- rejections: the proof --------------------------------------------------


def test_b_in_snarkjs_json_order_reverts_with_precompile_failed(chain, deployed, words):
    # The classic mistake: passing B as (c0, c1) instead of (c1, c0).
    proof8, inputs = words
    # B with swapped halves is off the twist: the pairing precompile fails.
    swapped = proof8[:2] + [proof8[3], proof8[2], proof8[5], proof8[4]] + proof8[6:]
    assert _reverts_with_precompile_failed(chain, deployed(N), swapped, inputs)


@pytest.mark.parametrize("which", ["pi_a", "pi_b", "pi_c"])
def test_proof_with_another_valid_point_is_rejected(chain, deployed, instance, which):
    other = groth16_instance(N, seed=1)["proof"][which]  # on the curve, in the group, wrong
    proof8, inputs = proof_calldata(tampered(instance["proof"], (which,), other), instance["public"])
    assert not _verdict(chain, deployed(N), proof8, inputs)


def test_proof_with_a_at_infinity_is_rejected(chain, deployed, words):
    proof8, inputs = words
    assert not _verdict(chain, deployed(N), [0, 0] + proof8[2:], inputs)


@pytest.mark.parametrize("index", range(8))
def test_coordinate_not_below_q_is_rejected(chain, deployed, words, index):
    proof8, inputs = words
    bad = list(proof8)
    bad[index] += Q  # the same residue mod q, but not canonical
    assert bad[index] < 2**256
    ok, gas = chain.verify(deployed(N), bad, inputs)
    assert not ok
    # Caught by the contract's own range check, before the pairing: a failing
    # pairing precompile would have burnt nearly all of the call's gas.
    assert gas < 21_000 + 6_150 * N + 20_000


def test_a_off_the_curve_is_rejected(chain, deployed, instance):
    proof = tampered(instance["proof"], ("pi_a",), g1_point_off_curve())
    proof8, inputs = proof_calldata(proof, instance["public"], check_points=False)
    assert not _verdict(chain, deployed(N), proof8, inputs)


def test_c_off_the_curve_is_rejected(chain, deployed, words):
    proof8, inputs = words
    assert not _verdict(chain, deployed(N), proof8[:6] + [proof8[6], (proof8[7] + 1) % Q], inputs)


def test_b_off_the_twist_reverts_with_precompile_failed(chain, deployed, words):
    proof8, inputs = words
    bad = list(proof8)
    bad[5] = (bad[5] + 1) % Q  # B.y_re
    assert _reverts_with_precompile_failed(chain, deployed(N), bad, inputs)


def test_b_outside_the_g2_subgroup_reverts_with_precompile_failed(chain, deployed, instance):
    proof = tampered(instance["proof"], ("pi_b",), g2_point_outside_subgroup())
    proof8, inputs = proof_calldata(proof, instance["public"], check_points=False)
    assert _reverts_with_precompile_failed(chain, deployed(N), proof8, inputs)
    with pytest.raises(ProofFormatError, match="subgroup"):
        proof_calldata(proof, instance["public"])


def test_proof_for_another_key_is_rejected(chain, deployed):
    other = groth16_instance(N, seed=1)
    proof8, inputs = proof_calldata(other["proof"], other["public"])
    assert _verdict(chain, deployed(N, seed=1), proof8, inputs)
    assert not _verdict(chain, deployed(N, seed=0), proof8, inputs)


# --- rejections: the public inputs ------------------------------------------


@pytest.mark.parametrize("index", range(N))
def test_changed_public_input_is_rejected(chain, deployed, words, index):
    proof8, inputs = words
    bad = list(inputs)
    bad[index] = (bad[index] + 1) % R
    assert not _verdict(chain, deployed(N), proof8, bad)


def test_a_valid_proof_never_returns_false_for_lack_of_gas(chain, deployed, words):
    """Every gas limit gives either `true` or a PrecompileFailed revert, and
    the smallest limit that does not revert (what eth_estimateGas looks for)
    gives `true`."""
    proof8, inputs = words
    address = deployed(N)
    calldata = encode_verify_call(proof8, inputs)
    full = chain.call(address, calldata)
    assert full.success and _decode(full.output) is True
    for gas in range(40_000, full.gas_used, 10_000):
        result = chain.call(address, calldata, gas=gas)
        assert not result.success, f"with {gas} gas the verifier answered {result.output.hex()}"
    lo, hi = 21_000, chain.gas_limit  # hi succeeds
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if chain.call(address, calldata, gas=mid).success:
            hi = mid
        else:
            lo = mid
    estimated = chain.call(address, calldata, gas=hi)
    assert estimated.success and _decode(estimated.output) is True


def _decode(output: bytes) -> bool:
    assert len(output) == 32 and output[:31] == bytes(31) and output[31] in (0, 1), output.hex()
    return output[31] == 1


def test_public_input_plus_r_is_rejected(chain, deployed, words):
    # x + r is x as a field element, so without the range check the same proof
    # would verify for a second 256-bit value.
    proof8, inputs = words
    assert not _verdict(chain, deployed(N), proof8, [inputs[0] + R] + inputs[1:])
    assert not _verdict(chain, deployed(N), proof8, inputs[:-1] + [R])


def test_proof_calldata_refuses_a_public_input_not_below_r(instance):
    with pytest.raises(ProofFormatError, match="public input 0"):
        proof_calldata(instance["proof"], [str(R)] + instance["public"][1:])


def test_too_few_or_too_many_inputs_never_verify(chain, deployed, words):
    proof8, inputs = words
    address = deployed(N)
    # Another N is another function signature, which the contract lacks: revert.
    for wrong in (inputs[:-1], inputs + [1]):
        result = chain.call(address, encode_verify_call(proof8, wrong))
        assert not result.success
        with pytest.raises(EvmError, match="failed"):
            chain.verify(address, proof8, wrong)
    # The right selector with a word missing: the ABI decoder reverts.
    calldata = encode_verify_call(proof8, inputs)
    assert not chain.call(address, calldata[:-32]).success
    # The right selector with a word appended: the length check answers false.
    result = chain.call(address, calldata + (1).to_bytes(32, "big"))
    assert result.success and result.output == bytes(32)


# --- rendering ---------------------------------------------------------------


def test_render_embeds_negated_key_and_leaves_no_template_syntax(instance):
    source = render_verifier(instance["vk"])
    assert "{{" not in source and "//#" not in source and "//%" not in source
    assert "contract Groth16Verifier" in source
    assert "uint256[3] calldata input" in source
    # VK_DATA, word by word: -delta, alpha, -beta, a gap for vk_x, -gamma,
    # IC[1..N], a gap, IC[0] (G2 imaginary part first, y negated).
    data = bytes.fromhex(source.split('VK_DATA = hex"')[1].split('"')[0])
    words = [int.from_bytes(data[i:i + 32], "big") for i in range(0, len(data), 32)]
    vk = instance["vk"]

    def neg_g2(name):
        (x0, x1), (y0, y1), _ = vk[name]
        return [int(x1), int(x0), (Q - int(y1)) % Q, (Q - int(y0)) % Q]

    def g1(point):
        return [int(point[0]), int(point[1])]

    n = vk["nPublic"]
    expected = (neg_g2("vk_delta_2") + g1(vk["vk_alpha_1"]) + neg_g2("vk_beta_2") + [0, 0] + neg_g2("vk_gamma_2")
                + [w for p in vk["IC"][1:] for w in g1(p)] + [0, 0] + g1(vk["IC"][0]))
    assert words == expected and len(data) == 32 * (20 + 2 * n)
    assert f"msg.data.length != {4 + 32 * (8 + n)}" in source


def test_render_refuses_delta_equal_to_the_generator():
    with pytest.raises(EvmError, match="phase-2"):
        render_verifier(generator_delta_vk())


def test_render_refuses_gamma_equal_to_delta(instance):
    vk = tampered(instance["vk"], ("vk_gamma_2",), instance["vk"]["vk_delta_2"])
    with pytest.raises(EvmError, match="gamma"):
        render_verifier(vk)


def test_render_refuses_a_key_without_public_inputs(instance):
    vk = tampered(instance["vk"], ("IC",), instance["vk"]["IC"][:1])
    vk["nPublic"] = 0
    with pytest.raises(EvmError, match="no public inputs"):
        render_verifier(vk)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("vk_alpha_1", 0), str(Q), "vk_alpha_1"),
        (("vk_alpha_1", 0), "0x1", "decimal"),
        (("vk_alpha_1",), ["1", "3", "1"], "not on the BN254 curve"),
        (("vk_beta_2",), "nope", "vk_beta_2"),
        (("vk_beta_2", 1, 0), "1", "not on the BN254 G2 twist"),
        (("vk_gamma_2",), g2_point_outside_subgroup(), "subgroup"),
        (("IC", 1, 2), "2", "z must be"),
        (("nPublic",), 7, "nPublic"),
        (("protocol",), "plonk", "protocol"),
        (("curve",), "bls12381", "curve"),
    ],
)
def test_render_rejects_a_malformed_key(instance, path, value, message):
    with pytest.raises(ProofFormatError, match=message):
        render_verifier(tampered(instance["vk"], path, value))


def test_render_rejects_a_key_with_a_missing_field(instance):
    vk = dict(instance["vk"])
    del vk["vk_delta_2"]
    with pytest.raises(ProofFormatError, match="vk_delta_2"):
        render_verifier(vk)


# --- compiling ---------------------------------------------------------------


def test_compile_error_surfaces_as_evm_error():
    with pytest.raises(EvmError, match="ParserError"):
        compile_verifier("pragma solidity ^0.8.20;\ncontract Groth16Verifier { function f( }\n")


def test_compiled_selectors_are_the_ones_our_calldata_uses(words):
    identifiers = _compiled(N).method_identifiers
    assert identifiers == {
        verify_signature(N): function_selector(verify_signature(N)).hex(),
        snarkjs_verify_signature(N): function_selector(snarkjs_verify_signature(N)).hex(),
    }
    proof8, inputs = words
    assert encode_verify_call(proof8, inputs)[:4].hex() == identifiers[verify_signature(N)]
    a, b, c = split_proof8(proof8)
    assert encode_snarkjs_verify_call(a, b, c, inputs)[:4].hex() == identifiers[snarkjs_verify_signature(N)]


def test_calldata_is_the_abi_encoding_eth_abi_decodes(words):
    from eth_abi import decode

    proof8, inputs = words
    calldata = encode_verify_call(proof8, inputs)
    assert len(calldata) == 4 + 32 * (8 + N)
    assert decode(["uint256[8]", f"uint256[{N}]"], calldata[4:]) == (tuple(proof8), tuple(inputs))


@pytest.mark.parametrize("bad", [-1, 2**256, True, "1"])
def test_calldata_refuses_a_value_that_is_not_a_uint256(words, bad):
    proof8, inputs = words
    with pytest.raises(EvmError, match="calldata"):
        encode_verify_call(proof8, [bad] + inputs[1:])
    with pytest.raises(EvmError, match="8 words"):
        encode_verify_call(proof8[:7], inputs)


def test_compile_without_node_modules_says_to_run_npm_ci(tmp_path, monkeypatch):
    shutil.copy(contracts_dir() / "compile.js", tmp_path / "compile.js")
    monkeypatch.setenv("ZKML_CONTRACTS_DIR", str(tmp_path))
    with pytest.raises(ToolMissingError, match="npm ci"):
        compile_verifier("contract Groth16Verifier {}")


def test_compile_without_node_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="node"):
        compile_verifier("contract Groth16Verifier {}")


# --- writing -----------------------------------------------------------------


def _leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir())


def test_write_verifier_writes_the_rendered_source(tmp_path, instance):
    path = write_verifier(instance["vk"], tmp_path / "Verifier.sol")
    assert path.read_text() == render_verifier(instance["vk"])
    assert _leftovers(tmp_path) == ["Verifier.sol"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_verifier_refusing_a_key_leaves_the_old_file(tmp_path):
    target = tmp_path / "Verifier.sol"
    target.write_text("old")
    with pytest.raises(EvmError):
        write_verifier(generator_delta_vk(), target)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == ["Verifier.sol"]


def test_write_verifier_failing_midway_leaves_no_partial_file(tmp_path, instance, monkeypatch):
    target = tmp_path / "Verifier.sol"

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(InputFileError, match="No space left"):
        write_verifier(instance["vk"], target)
    assert _leftovers(tmp_path) == []


def test_write_verifier_into_a_missing_folder_is_an_input_file_error(tmp_path, instance):
    with pytest.raises(InputFileError):
        write_verifier(instance["vk"], tmp_path / "missing" / "Verifier.sol")


# --- the small BN254 module against py_ecc ------------------------------------


def test_bn254_constants_match_py_ecc():
    from py_ecc.optimized_bn128 import G2, b2, normalize

    x, y = normalize(G2)
    assert bn254.G2_GENERATOR == (tuple(x.coeffs), tuple(y.coeffs))
    assert bn254.G2_B == tuple(b2.coeffs)
    assert bn254.g2_in_subgroup(bn254.G2_GENERATOR)
    (bx0, bx1), (by0, by1), _ = g2_point_outside_subgroup()
    point = ((int(bx0), int(bx1)), (int(by0), int(by1)))
    assert bn254.g2_on_curve(point) and not bn254.g2_in_subgroup(point)


def test_a_negated_proof_is_valid_by_design_and_proves_nothing_new(chain, deployed, words):
    """(-A, -B, C) verifies, as Groth16's malleability allows: nothing may use
    proof bytes as an id. It binds the same public inputs, so it is harmless."""
    proof8, inputs = words
    negated = [proof8[0], (Q - proof8[1]) % Q, proof8[2], proof8[3], (Q - proof8[4]) % Q, (Q - proof8[5]) % Q,
               proof8[6], proof8[7]]
    assert negated != list(proof8)
    assert _verdict(chain, deployed(N), negated, inputs)
    changed = list(inputs)
    changed[0] = (changed[0] + 1) % R
    assert not _verdict(chain, deployed(N), negated, changed)


def test_a_verifier_with_the_most_public_inputs_render_allows_deploys_under_eip_170(chain, instance):
    """IC points are data read in a loop, not unrolled code: the contract stays
    under 24,576 bytes of runtime code for hundreds of public inputs (unrolled,
    275 inputs rendered 38.9 KB) and still verifies, up to the count at which
    render_verifier starts refusing."""
    vk = dict(instance["vk"])
    extra = MAX_PUBLIC_INPUTS - vk["nPublic"]
    vk["IC"] = vk["IC"] + [["1", "2", "1"]] * extra
    vk["nPublic"] = MAX_PUBLIC_INPUTS
    contract = compile_verifier(render_verifier(vk))
    assert len(contract.deployed_bytecode) <= 24_576, len(contract.deployed_bytecode)
    address = chain.deploy(contract.bytecode)
    # The original proof with zeros for the extra inputs: the extra IC points
    # are multiplied by zero, so the statement is unchanged and must verify.
    proof8, inputs = proof_calldata(instance["proof"], instance["public"])
    ok, gas = chain.verify(address, proof8, list(inputs) + [0] * extra)
    assert ok
    ok, _ = chain.verify(address, proof8, list(inputs) + [0] * (extra - 1) + [1])
    assert not ok


@pytest.mark.parametrize("extra", [0, 1], ids=["unrolled", "looped"])
def test_the_unrolled_and_the_looped_input_steps_both_verify_at_the_boundary(chain, instance, extra):
    """Up to UNROLL_MAX public inputs the IC steps are written out one by one,
    beyond it they run in a loop: at the boundary and one past it the real
    proof (extra inputs zero) verifies, and a changed input, first or last, fails."""
    from zkml.evm.verifier import UNROLL_MAX

    vk = dict(instance["vk"])
    n = UNROLL_MAX + extra
    pad = n - vk["nPublic"]
    vk["IC"] = vk["IC"] + [["1", "2", "1"]] * pad
    vk["nPublic"] = n
    source = render_verifier(vk)
    assert ("for { let at :=" in source) == bool(extra)
    assert source.count("staticcall(gas(), 0x07") == (1 if extra else n)
    address = chain.deploy(compile_verifier(source).bytecode)
    proof8, inputs = proof_calldata(instance["proof"], instance["public"])
    full = list(inputs) + [0] * pad
    assert chain.verify(address, proof8, full)[0]
    for at in (0, n - 1):
        changed = list(full)
        changed[at] = (changed[at] + 1) % R
        assert not chain.verify(address, proof8, changed)[0]


def test_a_verifier_over_the_eip_170_limit_is_refused_when_rendered(instance):
    vk = dict(instance["vk"])
    vk["IC"] = vk["IC"] + [["1", "2", "1"]] * (MAX_PUBLIC_INPUTS + 1 - vk["nPublic"])
    vk["nPublic"] = MAX_PUBLIC_INPUTS + 1
    with pytest.raises(EvmError, match="EIP-170"):
        render_verifier(vk)


def test_without_the_ethereum_libraries_calldata_says_how_to_install_them(monkeypatch, words):
    import sys

    for module in ("eth_abi", "eth_utils", "eth_hash", "eth_hash.auto"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    proof8, inputs = words
    with pytest.raises(ToolMissingError, match=r"pip install 'zkml\[evm\]'"):
        encode_verify_call(proof8, inputs)
