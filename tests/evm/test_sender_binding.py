"""What a settlement contract will rely on to bind a proof to its sender
(docs/evm.md, "Settlement"): a program input that no instruction reads is
still a public input the proof binds (the QAP's extra row per public input,
native/src/groth16/r1cs_to_qap.rs), and five 32-bit limbs pack into one
public signal equal to the address, which a contract compares with
uint256(uint160(msg.sender))."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np

import zkml
from conftest import DIGITS, read

ADDRESS = 0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED


def _limbs(address: int) -> list[int]:
    # Signed 32-bit values whose packed form (value + 2^31, little-endian) is the address.
    return [((address >> (32 * j)) & 0xFFFFFFFF) - 2**31 for j in range(5)]


def test_an_input_no_instruction_reads_is_still_bound_by_the_proof(digits_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    for stale in ("proving_key.bin", "verification_key.json"):
        (build / stale).unlink()
    circuit = read(build / "circuit.json")
    circuit["tensors"].append({"bits": 32, "name": "prover", "scale": 0, "shape": [5]})
    circuit["inputs"].append({"name": "prover", "tensor": len(circuit["tensors"]) - 1})
    data = json.dumps(circuit).encode()
    (build / "circuit.json").write_bytes(data)
    settings = read(build / "settings.json")
    settings["circuit_hash"] = hashlib.sha256(data).hexdigest()
    (build / "settings.json").write_text(json.dumps(settings))
    zkml.api._seeded_setup_for_tests(build, seed=5)

    image = np.asarray(read(DIGITS / "input.json")["input_data"][0], dtype=np.float64).reshape(1, 8, 8)
    out = tmp_path / "out"
    zkml.prove(build, {"input": image.tolist(), "prover": _limbs(ADDRESS)}, out)
    public = read(out / "public.json")
    # inputs (image, then the address), then outputs: the address is one signal.
    assert int(public[-2]) == ADDRESS
    assert zkml.verify(build, out)

    for other in (ADDRESS ^ 1, 0, ADDRESS + (1 << 160)):
        public[-2] = str(other)
        (out / "public.json").write_text(json.dumps(public))
        assert not zkml.verify(build, out), hex(other)
