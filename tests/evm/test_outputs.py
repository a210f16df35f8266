"""Reading a model's outputs out of the public signals: the Solidity library
ZkmlOutputs (run in pyrevm) and its Python twin zkml.evm.outputs both decode
exactly what `zkml prove` printed, and agree with the production packer on
every bit width."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DIGITS, read
from test_cli import zkml
from zkml import program as prog
from zkml.api import load_build
from zkml.errors import ProofFormatError
from zkml.evm import InProcessChain, compile_verifier
from zkml.evm.outputs import decode_outputs, library_source, output_layout, real_value, unpack

HARNESS = """
contract OutputsHarness {
    function decode(uint256[] memory signals, uint256 first, uint256 count, uint256 bits)
        external pure returns (int256[] memory values, uint256 best, int256 last)
    {
        values = ZkmlOutputs.unpack(signals, first, count, bits);
        best = ZkmlOutputs.argmax(values);
        last = ZkmlOutputs.valueAt(signals, first, count - 1, bits);
    }
}
"""
SIGNATURE = "decode(uint256[],uint256,uint256,uint256)"


@functools.cache
def _harness():
    chain = InProcessChain()
    # compile.js takes one self-contained file, so the harness is appended to the library.
    address = chain.deploy(compile_verifier(library_source() + HARNESS, "OutputsHarness").bytecode)
    return chain, address


def solidity_unpack(signals, first, count, bits):
    chain, address = _harness()
    calldata = function_signature_to_4byte_selector(SIGNATURE) + encode(
        ["uint256[]", "uint256", "uint256", "uint256"], [list(signals), first, count, bits])
    result = chain.call(address, calldata)
    if not result.success:
        return result.output  # the revert data
    values, best, last = decode(["int256[]", "uint256", "int256"], result.output)
    assert last == values[-1]
    return list(values), best


def _printed_outputs(stdout: str) -> dict:
    """`zkml prove`'s lines "output NAME [shape]: [v0, v1, ...]"."""
    printed = {}
    for line in stdout.splitlines():
        if line.startswith("output "):
            head, values = line.split(": ", 1)
            printed[head.split()[1]] = values
    return printed


def test_both_decoders_give_what_zkml_prove_printed(digits_build, tmp_path):
    out = tmp_path / "out"
    r = zkml("prove", digits_build, DIGITS / "input.json", "-o", out)
    assert r.returncode == 0, r.stderr
    printed = _printed_outputs(r.stdout)
    program = load_build(digits_build).program
    signals = [int(v) for v in read(out / "public.json")]
    (layout,) = output_layout(program)
    assert (layout.name, layout.count, layout.bits, layout.shape) == ("logits", 10, 16, (1, 10))

    python = decode_outputs(program, signals)["logits"]
    solidity, best = solidity_unpack(signals, layout.first_signal, layout.count, layout.bits)
    assert python == (solidity, layout.scale)
    reals = np.array([float(real_value(q, layout.scale)) for q in solidity])
    assert np.array2string(reals, precision=4, separator=", ", max_line_width=10_000) == printed["logits"]
    # Exactly, not just to four digits: output.json holds the same reals, and
    # the argmax the library computes is the class `prove` printed.
    assert reals.tolist() == np.asarray(read(out / "output.json")["outputs"]["logits"]).reshape(-1).tolist()
    assert f"argmax: {best}" in r.stdout


def test_the_layout_finds_each_output_after_the_inputs(digits_build):
    program = load_build(digits_build).program
    logits = program.outputs[0]
    two = dataclasses.replace(program, outputs=(logits, prog.Io("second", logits.tensor)))
    q_in = [np.zeros(program.tensors[program.inputs[0].tensor].shape, dtype=np.int64)]
    first = np.arange(-5, 5, dtype=np.int64).reshape(1, 10)
    second = np.array([[32767, -32768, 0, 1, -1, 2, -2, 100, -100, 7]], dtype=np.int64)
    signals = prog.pack_public(two, q_in, [first, second])

    layouts = output_layout(two)
    assert [(x.name, x.first_signal) for x in layouts] == [("logits", len(signals) - 2), ("second", len(signals) - 1)]
    decoded = decode_outputs(two, signals)
    assert decoded["logits"][0] == first.reshape(-1).tolist()
    assert decoded["second"][0] == second.reshape(-1).tolist()
    for layout, expected in zip(layouts, (first, second)):
        assert solidity_unpack(signals, layout.first_signal, layout.count, layout.bits)[0] == expected.reshape(-1).tolist()


@settings(max_examples=25, deadline=None)
@given(bits=st.sampled_from([2, 3, 8, 13, 16, 21, 32, 63, 64]), count=st.integers(1, 40), data=st.data())
def test_python_and_solidity_undo_the_production_packer(bits, count, data):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    values = data.draw(st.lists(st.integers(lo, hi), min_size=count, max_size=count))
    signals = [7] + prog._pack(np.array(values, dtype=object).astype(np.int64), bits) if bits < 64 else None
    if signals is None:  # the packer works in int64: 64-bit values are packed by hand
        per = 252 // 64
        signals = [7] + [sum((v + (1 << 63)) << (64 * j) for j, v in enumerate(values[i:i + per]))
                         for i in range(0, count, per)]
    assert unpack(signals, 1, count, bits) == values
    assert solidity_unpack(signals, 1, count, bits)[0] == values


def test_a_signal_with_bits_above_its_values_is_refused_by_both():
    values = [1, -2, 3]
    signals = prog._pack(np.array(values, dtype=np.int64), 16)
    assert unpack(signals, 0, 3, 16) == values
    dirty = [signals[0] | (1 << 48)]  # a bit just above the third value
    with pytest.raises(ProofFormatError, match="signal 0"):
        unpack(dirty, 0, 3, 16)
    revert = solidity_unpack(dirty, 0, 3, 16)
    assert revert == function_signature_to_4byte_selector("SignalOutOfRange(uint256)") + (0).to_bytes(32, "big")


def test_a_layout_beyond_the_signals_is_refused_by_both():
    with pytest.raises(ProofFormatError, match="signals"):
        unpack([1], 0, 16, 16)  # 16 values of 16 bits need two signals
    assert solidity_unpack([1], 0, 16, 16) == function_signature_to_4byte_selector("BadLayout()")
    assert solidity_unpack([1], 0, 1, 65) == function_signature_to_4byte_selector("BadLayout()")


def test_export_verifier_prints_how_to_read_each_output(digits_build, tmp_path):
    r = zkml("export-verifier", digits_build, "-o", tmp_path / "V.sol", "--source-only")
    assert r.returncode == 0, r.stderr
    (layout,) = output_layout(load_build(digits_build).program)
    line = f"output logits [1, 10]: ZkmlOutputs.unpack(input, {layout.first_signal}, 10, 16) * 2^-{layout.scale}"
    assert line in r.stdout
