"""`zkml estimate`: what a model will cost before any setup.

Runs the frontend and the quantizer (as `compile` does, writing nothing),
synthesises the circuit's structure (constraints, variables, public inputs,
QAP domain, matrix entries), and from those predicts:

* the proving key's size, exactly, from its layout (``native/src/groth16/keys.rs``:
  uncompressed G1 points of 64 bytes and G2 points of 128, each list with an
  8-byte count);
* the verifier's gas for one ``verifyProof`` transaction: the 21,000 base,
  calldata at 16 gas a byte, the four-pairing check (45,000 + 4·34,000), one
  ``ecMul`` (6,000) and ``ecAdd`` (150) per public input, and the contract's
  own work (about 1,160 gas plus 356 per public input, measured on the
  exported verifier);
* proving time on this machine, from this machine's own speed: the CPU
  prover's primitives (G1 MSM on random and on witness-like scalars, G2 MSM,
  NTT) are timed at up to 2^14 elements and scaled to the circuit's sizes
  (Pippenger's cost per point falls as ``1/log n``; an NTT grows as
  ``n log n``);
* peak memory of ``zkml prove``: a fresh Python process with zkml imported
  (measured once, in a child process), the proving key's points as held in
  memory (72 and 136 bytes where the file has 64 and 128: 9/8 of its size),
  the constants as the native side holds them (each in the narrowest of 1, 2,
  4 or 8 bytes that holds its values), the QAP's three row vectors and the
  witness (32 bytes an element), and the MSMs' working memory (about one more
  vector of the domain's size). A proof builds no matrices.
"""

from __future__ import annotations

import math
import resource
from dataclasses import asdict, dataclass
from pathlib import Path

from zkml import _native

G1_BYTES, G2_BYTES, COUNT_BYTES, HEADER_BYTES = 64, 128, 8, 8 + 96
PAIRING_GAS = 45_000 + 4 * 34_000
EC_MUL_GAS, EC_ADD_GAS = 6_000, 150
CONTRACT_BASE_GAS, CONTRACT_PER_INPUT_GAS = 1_160, 356
CALLDATA_WORD_GAS = 32 * 16
SELECTOR_GAS = 4 * 16


@dataclass
class Estimate:
    constraints: int
    variables: int
    public_inputs: int
    qap_domain_size: int
    matrix_nonzeros: int
    proving_key_bytes: int
    verify_gas: int
    prove_seconds: float
    peak_memory_bytes: int
    seconds: float
    """How long the estimate itself took."""

    def to_json(self) -> dict:
        return asdict(self)


def proving_key_bytes(variables: int, public_inputs: int, domain: int) -> int:
    """The size of ``proving_key.bin`` for these dimensions (its exact layout)."""
    vk = G1_BYTES + 3 * G2_BYTES + COUNT_BYTES + G1_BYTES * (public_inputs + 1)
    queries = (3 * COUNT_BYTES + 2 * G1_BYTES * variables + G2_BYTES * variables   # A, B1, B2
               + COUNT_BYTES + G1_BYTES * domain                                   # H (n points)
               + COUNT_BYTES + G1_BYTES * (variables - public_inputs - 1))         # L
    return HEADER_BYTES + vk + 2 * G1_BYTES + queries + COUNT_BYTES


def verify_gas(public_inputs: int) -> int:
    calldata = SELECTOR_GAS + CALLDATA_WORD_GAS * (8 + public_inputs)
    execution = (PAIRING_GAS + (EC_MUL_GAS + EC_ADD_GAS + CONTRACT_PER_INPUT_GAS) * public_inputs
                 + CONTRACT_BASE_GAS)
    return 21_000 + calldata + execution


def _per_point(seconds: float, measured_log2: int, n: int) -> float:
    """Seconds for an MSM of ``n`` points from one of ``2^measured_log2``."""
    if n <= 0:
        return 0.0
    per = seconds / (1 << measured_log2)
    return per * n * measured_log2 / max(math.log2(max(n, 2)), measured_log2 * 0.5)


def prove_seconds(variables: int, public_inputs: int, domain: int, nonzeros: int,
                  timings: dict[str, float], log2: int) -> float:
    private = variables - public_inputs - 1
    msm = (_per_point(timings["g1_random"], log2, domain)
           + 2 * _per_point(timings["g1_witness"], log2, variables)
           + _per_point(timings["g1_witness"], log2, private)
           + _per_point(timings["g2_witness"], log2, variables))
    n0 = 1 << log2
    ntt = 6 * timings["ntt"] * (domain * math.log2(domain)) / (n0 * log2)
    # The pointwise work on the QAP's vectors: a few field operations per
    # domain point, at the NTT's per-butterfly cost. (A proof evaluates no
    # matrix: the witness-only synthesis records each row's values, at a cost
    # that grows with the model's multiply-accumulates, not counted here.)
    field_op = timings["ntt"] / (n0 * log2 / 2)
    return msm + ntt + field_op * 6 * domain


_BASELINE: list[int] = []


def _python_baseline() -> int:
    """Peak resident bytes of a fresh interpreter that has imported what
    ``zkml prove`` imports (measured once per process)."""
    if not _BASELINE:
        import subprocess
        import sys

        code = ("import zkml, zkml.api, zkml.ops, zkml.program, zkml.inputs, zkml.schemas\n"
                "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])")
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True, timeout=60).stdout
            _BASELINE.append(int(out.strip().splitlines()[-1]) * 1024)
        except (subprocess.SubprocessError, OSError, ValueError, IndexError):
            _BASELINE.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return _BASELINE[0]


def peak_memory_bytes(pk_bytes: int, variables: int, domain: int, constants: int = 0) -> int:
    """See the module docstring; `constants`: `constant_bytes` of the program."""
    return int(_python_baseline() + 9 / 8 * pk_bytes + constants + 32 * (variables + 4 * domain))


def constant_bytes(program) -> int:
    """Bytes the native prover holds for `program`'s constants: each array
    in the narrowest of 1, 2, 4 or 8 bytes that holds all its values
    (``native/src/program/values.rs``); committed ones at their bit width."""
    import numpy as np

    from zkml.ops import KINDS
    from zkml.program import BIAS_BITS, COMMITTABLE

    total = 0
    for instr in program.instructions:
        for name in KINDS[instr.op].CONSTANTS:
            array = np.asarray(getattr(instr, name))
            if array.size == 0:
                continue
            if program.weight_bits is not None and name in COMMITTABLE.get(instr.op, ()):
                bits = program.weight_bits if name == "weight" else BIAS_BITS
            else:
                lo, hi = int(array.min()), int(array.max())
                bits = max(lo.bit_length(), hi.bit_length()) + 1
            total += array.size * next(w for w in (1, 2, 4, 8) if bits <= 8 * w)
    return total


FR_BYTES = 32
MATRIX_ENTRY_BYTES = 4 + FR_BYTES  # a column index and a coefficient
SKIP_MEMORY_CHECK = "ZKML_SKIP_MEMORY_CHECK"


def memory_floor_bytes(work: str, settings: dict) -> int:
    """Bytes that `work` ("setup" or "prove") must hold at once for the build
    whose settings.json is `settings`, counting only what it cannot do
    without, so that it is below the real peak: setup, the constraint matrices
    (a column index and a coefficient per entry) and the proving key it makes
    (at least its file's bytes); prove, the proving key and the QAP's three
    row vectors (32 bytes a domain point each) with the witness."""
    variables, public = int(settings["variables"]), int(settings["public_inputs"])
    domain, nonzeros = int(settings["qap_domain_size"]), int(settings["matrix_nonzeros"])
    key = proving_key_bytes(variables, public, domain)
    if work == "setup":
        return key + MATRIX_ENTRY_BYTES * nonzeros
    return key + FR_BYTES * (3 * domain + variables)


def machine_memory_bytes() -> int | None:
    """RAM plus swap (Linux's /proc/meminfo; RAM alone from sysconf
    elsewhere); None where neither says."""
    try:
        with open("/proc/meminfo") as f:
            fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.split()[1:2]}
        return fields["MemTotal"] + fields.get("SwapTotal", 0)
    except (OSError, KeyError, ValueError):
        pass
    try:
        import os

        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(work: str, settings: dict, build_dir: object) -> None:
    """A MemoryLimitError when `work` on this build could not fit this
    machine's memory (`memory_floor_bytes` over RAM plus swap), instead of the
    system killing the process partway; the environment variable
    ZKML_SKIP_MEMORY_CHECK=1 skips the check."""
    import os

    from zkml.errors import MemoryLimitError

    if os.environ.get(SKIP_MEMORY_CHECK):
        return
    try:
        floor = memory_floor_bytes(work, settings)
    except (KeyError, TypeError, ValueError):
        return  # settings.json is checked elsewhere; this check has nothing to go on
    have = machine_memory_bytes()
    if have is None or floor <= have:
        return
    gib = 1 << 30
    raise MemoryLimitError(
        f"{work} of {build_dir} needs at least {floor / gib:,.1f} GiB of memory at once "
        f"({int(settings['constraints']):,} constraints, QAP domain {int(settings['qap_domain_size']):,}; "
        f"`zkml estimate` predicts the whole peak), and this machine has {have / gib:,.1f} GiB (RAM and swap): "
        f"compile a smaller model or with fewer --bits, or use a machine with more memory "
        f"({SKIP_MEMORY_CHECK}=1 tries anyway)",
        details={"work": work, "needs_bytes": floor, "machine_bytes": have},
    )


def estimate(model, calibration=None, bits: int = 16, input_shapes=None, weights: str = "constant",
             visibility: dict[str, str] | None = None) -> Estimate:
    """Predict the cost of proving ``model`` (see the module docstring), with
    its weights ``"constant"`` or ``"committed"`` and ``visibility`` as for
    ``zkml.compile`` (a committed or hashed tensor costs its range checks,
    one constraint per multiply-accumulate with a committed weight, and the
    Poseidon hashing)."""
    import time

    from zkml.frontend import load_model
    from zkml.inputs import load_calibration
    from zkml.quantize import quantize

    started = time.perf_counter()
    graph = load_model(Path(model), input_shapes)
    samples = load_calibration(calibration, graph) if calibration is not None else None
    from zkml import privacy

    if weights not in ("constant", "committed"):
        from zkml.errors import ArgumentError

        raise ArgumentError(f"weights must be 'constant' or 'committed', got {weights!r}")
    program, _ = quantize(graph, samples, bits=bits, weight_headroom=1 if weights == "committed" else 0)
    program = privacy.apply_visibility(program, visibility)
    if weights == "committed":
        program = privacy.commit_weights(program, bits)
    data, constants = program.to_files()
    info = _native.circuit_info(data, constants)
    variables, public = info["variables"], info["public_inputs"]
    domain, nonzeros = info["domain_size"], info["nonzeros"]
    log2 = max(10, min(14, domain.bit_length() - 1))
    timings = dict(_native.primitive_timings(log2))
    pk = proving_key_bytes(variables, public, domain)
    return Estimate(
        constraints=info["constraints"],
        variables=variables,
        public_inputs=public,
        qap_domain_size=domain,
        matrix_nonzeros=nonzeros,
        proving_key_bytes=pk,
        verify_gas=verify_gas(public),
        prove_seconds=prove_seconds(variables, public, domain, nonzeros, timings, log2),
        peak_memory_bytes=peak_memory_bytes(pk, variables, domain, constant_bytes(program)),
        seconds=time.perf_counter() - started,
    )
