"""On-chain verification: the Solidity Groth16 verifier, its calldata, and an
in-process EVM to run it.

    source = render_verifier(vk)            # snarkjs verification_key.json -> Solidity
    contract = compile_verifier(source)     # pinned npm solc (npm ci in contracts/)
    chain = InProcessChain()
    address = chain.deploy(contract.bytecode)
    ok, gas = chain.verify(address, *proof_calldata(proof, public))
"""

from zkml.evm.calldata import (
    encode_snarkjs_verify_call,
    encode_verify_call,
    proof_calldata,
    snarkjs_calldata,
    split_proof8,
)
from zkml.evm.chain import CallResult, InProcessChain, intrinsic_gas
from zkml.evm.encoding import Proof, VerifyingKey, parse_proof, parse_public, parse_verifying_key
from zkml.evm.tools import contracts_dir
from zkml.evm.verifier import CompiledContract, compile_verifier, render_verifier, write_verifier

__all__ = [
    "CallResult",
    "CompiledContract",
    "InProcessChain",
    "Proof",
    "VerifyingKey",
    "compile_verifier",
    "contracts_dir",
    "encode_snarkjs_verify_call",
    "encode_verify_call",
    "intrinsic_gas",
    "parse_proof",
    "parse_public",
    "parse_verifying_key",
    "proof_calldata",
    "render_verifier",
    "snarkjs_calldata",
    "split_proof8",
    "write_verifier",
]
