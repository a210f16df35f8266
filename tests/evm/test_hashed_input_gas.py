"""Issue 13, item 6: with its input hashed, a model with a 784-value input
verifies on-chain for at most 230,000 gas in total (the whole transaction:
21,000, calldata and execution), where the same model with its input public
takes 52 more public signals and about 360,000 gas more.

The model is a 28x28 image flattened into one dense layer (Gemm 784 -> 10),
built here with onnx's helper: the cost of verifying depends only on the
number of public signals, and this compiles and sets up in seconds (lenet5,
the zoo's 28x28 model, takes minutes; bench/gas.py measures it and every
other zoo model, bench/RESULTS.md). Each build's verifier is deployed and
sent one valid verifyProof on a real anvil node (its receipt's gasUsed) and
in the in-process EVM (pyrevm, Shanghai rules)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper

import zkml
from anvil_node import funded_account, running_anvil
from onnx_models import const, save_model, value
from zkml.evm import InProcessChain, compile_verifier, encode_verify_call, proof_calldata, render_verifier
from zkml.evm.rpc import deploy_contract, signing_web3, transact

BUDGET = 230_000  # issue 13: "verifies on-chain for <= 230,000 gas in total"


@pytest.fixture(scope="module")
def dense_784(tmp_path_factory):
    root = tmp_path_factory.mktemp("dense784")
    rng = np.random.default_rng(784)
    weights = rng.normal(0, 0.05, (784, 10))
    model = save_model(root / "model.onnx", [
        helper.make_node("Flatten", ["image"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w", "b"], ["logits"]),
    ], [value("image", [1, 1, 28, 28], TensorProto.FLOAT)], [value("logits", [1, 10], TensorProto.FLOAT)],
        [const("w", weights, np.float32), const("b", rng.normal(0, 0.1, 10), np.float32)])
    calibration = rng.uniform(0, 1, (4, 1, 1, 28, 28))
    image = {"input_data": [rng.uniform(0, 1, (1, 1, 28, 28)).tolist()]}
    (root / "input.json").write_text(json.dumps(image))
    return root, model, calibration


def _proved(root, model, calibration, visibility):
    build, out = root / f"build_{visibility}", root / f"out_{visibility}"
    zkml.compile(model, build, calibration=[calibration], visibility={"input": visibility})
    zkml.api._seeded_setup_for_tests(build, seed=784)
    zkml.prove(build, root / "input.json", out)
    vk = json.loads((build / "verification_key.json").read_text())
    proof8, public = proof_calldata(json.loads((out / "proof.json").read_text()),
                                    json.loads((out / "public.json").read_text()))
    return compile_verifier(render_verifier(vk)), proof8, public


@pytest.fixture(scope="module")
def gas(dense_784):
    """Per visibility: the number of public signals, the anvil receipt's gasUsed
    of one verifyProof transaction, and pyrevm's transaction gas."""
    figures = {}
    evm = InProcessChain()
    with running_anvil() as (url, web3):
        w3 = signing_web3(url, funded_account(web3))
        for visibility in ("hashed", "public"):
            contract, proof8, public = _proved(*dense_784, visibility)
            calldata = encode_verify_call(proof8, public)
            address = deploy_contract(w3, contract.bytecode, contract.deployed_bytecode).address
            call = {"to": address, "data": "0x" + calldata.hex()}
            assert int.from_bytes(bytes(w3.eth.call(call)), "big") == 1
            receipt = transact(w3, {**call, "gas": 2_000_000})
            assert receipt["status"] == 1
            ok, pyrevm_gas = evm.verify(evm.deploy(contract.bytecode), proof8, public)
            assert ok
            figures[visibility] = (len(public), int(receipt["gasUsed"]), pyrevm_gas)
    return figures


def test_a_784_value_hashed_input_verifies_for_at_most_230k_gas_in_total(gas):
    signals, anvil_gas, pyrevm_gas = gas["hashed"]
    assert signals == 2  # the input's commitment and the one packed output signal
    assert anvil_gas <= BUDGET and pyrevm_gas <= BUDGET, gas


def test_the_same_input_public_takes_53_signals_and_far_more_gas(gas):
    signals, anvil_gas, pyrevm_gas = gas["public"]
    assert signals == 53 + 1  # 784 16-bit values, 15 to a signal, and the output
    assert anvil_gas > BUDGET + 250_000 and pyrevm_gas > BUDGET + 250_000, gas
