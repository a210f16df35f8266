"""Type stub of the native extension (Rust, native/src/python.rs).

Every function raises a `zkml.errors` class on failure; a panic in the native
code arrives as `zkml.errors.InternalError`. The GIL is released while they run.
"""

from collections.abc import Sequence
from os import PathLike
from typing import TypedDict, final

from typing_extensions import Self

__version__: str

class CircuitInfo(TypedDict):
    circuit_hash: str
    constraints: int
    variables: int
    public_inputs: int
    domain_size: int
    nonzeros: int
    constraints_by_instruction: list[tuple[str, int]]

class ProveOutput(TypedDict):
    proof: str
    public: list[str]
    outputs: list[list[int]]
    timings: list[tuple[str, float]]
    backend: str
    device: str
    vk: str

@final
class Progress:
    """The stages of one native call, readable from another thread while it runs:
    pass it as `progress=` to `circuit_info`, `setup`, `Prover(...)` or
    `Prover.prove`. Stages: load_circuit, synthesize (circuit_info); load_circuit,
    synthesize, generate_keys, write_key (setup); load_circuit, load_key (Prover);
    synthesize, evaluate, quotient, msm (Prover.prove)."""

    def __new__(cls) -> Self: ...
    def current(self) -> tuple[str, float] | None:
        """(name, seconds so far) of the stage running now, or None."""
    def stages(self) -> list[tuple[str, float, int]]:
        """(name, seconds, the process's peak RSS in bytes at its end) of each finished stage, in order."""

def circuit_info(program: bytes, constants: bytes, progress: Progress | None = None) -> CircuitInfo:
    """Synthesise the circuit of a quantized program (the bytes of circuit.json and
    constants.bin; docs/program.md) without any input, and count it."""

def evaluate(
    program: bytes, constants: bytes, inputs: list[list[int]], salts: list[str] = ..., weights: bytes | None = None
) -> tuple[list[list[int]], list[str]]:
    """Witness only: (quantized outputs, public signals) after checking every
    constraint. `salts`: one decimal per hashed input/output, in order."""

def setup(
    program: bytes,
    constants: bytes,
    pk_path: str | PathLike[str],
    seed: int | None = None,
    progress: Progress | None = None,
) -> str:
    """Local (development) Groth16 setup, without any input: writes the proving key
    atomically, returns the verification key as snarkjs JSON. `seed` is for tests only."""

def prove(
    program: bytes,
    constants: bytes,
    pk_path: str | PathLike[str],
    inputs: list[list[int]],
    seed: int | None = None,
    device: str = "auto",
    salts: list[str] = ...,
) -> ProveOutput:
    """Prove one inference on quantized inputs (one flat list per model input).
    `device`: "auto", "cpu" or "cuda" (DeviceError without a usable GPU)."""

@final
class Prover:
    """A build and its proving key loaded once (with "cuda", the key's points
    uploaded to the GPU once) for many proofs. The key is checked against the
    circuit as `prove` checks it; a key that does not fit the GPU's free memory
    is a DeviceError naming the sizes ("cuda") or a CPU prover saying why ("auto").
    `constants`: the bytes of constants.bin, or its path (then read in chunks,
    hashed and decoded as they come: the file is never held whole).
    With `one_proof=True` the circuit and the key are read on native threads
    while the caller goes on, on the CPU without hashing constants.bin and the
    key unless the proof fails its self-check; a failure to load them is then
    the error of `prove` and of the getters, which wait for them; on the CPU
    it proves once (its proof drops the constants after synthesis)."""

    def __new__(
        cls,
        program: bytes,
        constants: bytes | str | PathLike[str],
        pk_path: str | PathLike[str],
        device: str = "auto",
        weights: bytes | None = None,
        progress: Progress | None = None,
        one_proof: bool = False,
    ) -> Self: ...
    def prove(
        self,
        inputs: list[list[int]],
        seed: int | None = None,
        salts: list[str] = ...,
        progress: Progress | None = None,
    ) -> ProveOutput:
        """One proof, as `prove` (module function) makes it; with "auto", a GPU
        failing mid-proof hands that proof to the CPU."""
    @property
    def device(self) -> str:
        """The device as proofs report it."""
    @property
    def backend(self) -> str: ...
    @property
    def key_bytes(self) -> int:
        """Host bytes of the proving key held (points as stored in memory, plus the fixed part)."""
    @property
    def device_bytes(self) -> int:
        """Bytes of the key's points resident on the GPU (0 on the CPU)."""
    @property
    def vk(self) -> str:
        """The verifying key inside the proving key, as snarkjs JSON."""

def verify(vk_json: str, proof_json: str, public_json: str) -> bool:
    """Groth16 verification of snarkjs-format JSON; raises ProofFormatError on malformed input."""

def poseidon(values: Sequence[int | str]) -> str:
    """circomlib's Poseidon hash of 1 to 8 field elements (ints or canonical decimal strings
    in [0, r)), as a decimal string; InputShapeError on another count, QuantizationError on a
    value outside [0, r)."""

def _panic_for_tests() -> None: ...
def check_ptau(program: bytes, constants: bytes, ptau: str | PathLike[str]) -> tuple[int, int]:
    """Reads the parts of a snarkjs .ptau this circuit's phase 2 uses and checks
    them (header, size, points on the curve and in the subgroup, the powers'
    consistency by random linear combinations and pairings, the Lagrange
    sections against the powers); returns (power, ceremony power)."""

def export_r1cs(program: bytes, constants: bytes, path: str | PathLike[str]) -> None:
    """The circuit's constraint system as an iden3 .r1cs file (atomically)."""

def export_witness(
    program: bytes,
    constants: bytes,
    inputs: list[list[int]],
    path: str | PathLike[str],
    salts: list[str] = ...,
    weights: bytes | None = None,
) -> list[str]:
    """The witness of the quantized inputs, checked, as an iden3 .wtns file;
    returns the public signals (decimal)."""

def export_zkey(
    program: bytes,
    constants: bytes,
    pk_path: str | PathLike[str],
    path: str | PathLike[str],
    transcript_from: str | PathLike[str] | None = None,
) -> None:
    """The proving key as a snarkjs .zkey; the phase-2 transcript copied from
    the .zkey at `transcript_from`, or empty."""

def import_zkey(
    program: bytes, constants: bytes, zkey_path: str | PathLike[str], pk_path: str | PathLike[str]
) -> tuple[str, list[tuple[str, str]]]:
    """Reads a snarkjs .zkey made for this circuit (header sizes and every
    constraint coefficient checked, every point on the curve and in its
    subgroup), writes it as the proving key; returns the verification key
    (snarkjs JSON) and the contributions (name, kind) of its transcript."""

def set_nvrtc_search_dirs(dirs: list[str | PathLike[str]]) -> None:
    """Folders to look for libnvrtc in before the system's."""

def describe_device(device: str) -> str:
    """What `device` ("auto", "cpu", "cuda") resolves to, as prove reports it."""

def cuda_msm_check(log2_sizes: list[int], seed: int) -> list[str]:
    """GPU G1/G2 MSMs against the CPU at 2^k points; DeviceError on a mismatch."""

def cuda_compile_check(arch: str) -> int:
    """Compile the CUDA kernels to PTX for `arch` with NVRTC (no GPU needed); PTX bytes."""

def _cuda_inject_failure_for_tests() -> None: ...

def primitive_timings(log2: int) -> list[tuple[str, float]]:
    """Seconds for a G1 MSM (random, witness scalars), a G2 MSM (witness) and an NTT at 2^log2."""
