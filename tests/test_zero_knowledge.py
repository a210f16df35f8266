"""Zero knowledge, tested (issue 13 item 5).

Two claims, each tested against real proofs of the bundled digits model (and
of a small hand-built model where the statistics need many proofs):

1. **Nothing private is in what a verifier receives.** With the input
   ``hashed`` (and, second build, the input ``private`` and the output
   ``hashed``) every file a verifier can be given -- proof.json, public.json,
   output.json, verification_key.json, settings.json, circuit.json,
   constants.bin, the exported Solidity verifier -- and what ``zkml verify``
   prints are searched for the private values in every encoding we could think
   of: the packed public elements the tensor would have had if it were public
   (decimal, hex, 32-byte little/big endian), the salt (the same), runs of the
   quantized or dequantized values (as numbers in text, or as int16..int64 /
   float32/float64 bytes in a binary file), the unsalted SHA-256 that
   ``verify`` prints for a public input, and the unsalted commitment (salt 0).
   Positive controls show that the same search finds a public output in
   public.json and the salt and hidden values in private.json.

2. **Proofs of different witnesses with the same public signals are
   distributed identically.** A Groth16 proof (A, B, C) for a fixed statement
   has A and B uniform and independent (the prover's r and s) and C fixed by
   them and the statement, whatever the witness. Sampled with OS randomness,
   the proofs of input A and of input B are compared coordinate by coordinate
   (A.x, A.y, B's four Fp coordinates, C.x, C.y, as integers mod q):

   * an exact two-sample Kolmogorov-Smirnov test on coordinate / q: under the
     null hypothesis (one distribution) its exact p-value is valid for any
     continuous distribution, and a coordinate takes ~2^254 values, so a tie
     has probability ~n^2/q, i.e. never;
   * Fisher's exact test on each of the lowest 8 bits (2x2 table sample x bit):
     exact, so its p-value is valid (conservative) whatever the distribution;
   * the difference of the means of coordinate / q against Bernstein's
     inequality: the mean difference of n i.i.d. terms X - Y (|X - Y| <= 1,
     variance 2 Var(X), Var(X) <= 0.09 for the near-uniform coordinate of a
     uniformly random curve point, 1/12 for uniform) exceeds t with
     probability <= 2 exp(-n t^2 / (2 sigma^2 + 2t/3)); t is solved for the
     test's alpha (6.6 standard errors at n = 800, 7.4 at n = 150).

   72 KS/Fisher tests share alpha 5e-7 (Bonferroni: each rejects at
   5e-7 / 72) and the 8 mean checks share 5e-7, so by the union bound a
   correct prover fails a comparison with probability < 1e-6; proofs that
   repeat (a collision among 2n uniformly random A points has probability
   ~ n^2 / r < 2^-230) fail the distinctness check never.

   That the distinguisher has power is shown on the same proofs: it rejects a
   sample of one proof repeated (the native prover's test seed fixes r and
   s), a sample filtered to even A.x (a prover leaking one bit in A.x's
   parity), and a sample filtered to C.y < q/2. The seed also shows that the
   witness does change the proof once r and s are fixed: the randomness is
   what hides it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import zkml
import zkml.api
from onnx_models import const, save_model, value
from zkml import _native
from zkml import program as prog
from zkml.api import _digest_of
from zkml.poseidon import commitment as poseidon_commitment

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "circuits" / "digits_mlp"

#: BN254's base field: the proof's coordinates live here.
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
COORDS = ("A.x", "A.y", "B.x.c0", "B.x.c1", "B.y.c0", "B.y.c1", "C.x", "C.y")
LOW_BITS = 8
#: Probability that a correct prover fails one comparison: half for the KS and
#: Fisher tests, half for the mean checks.
ALPHA = 1e-6
TINY_PROOFS = 800  # per input; the tiny model proves in ~8 ms
DIGITS_PROOFS = 150  # per input; digits proves in ~60 ms on two cores


# --- helpers -----------------------------------------------------------------------


def _image(index: int | None = None) -> np.ndarray:
    """The bundled input image (index None) or sklearn's digit `index`, [1, 8, 8] in [0, 1]."""
    if index is None:
        return np.asarray(json.loads((DIGITS / "input.json").read_text())["input_data"][0]).reshape(1, 8, 8)
    from sklearn.datasets import load_digits

    return (load_digits().data[index] / 16.0).reshape(1, 8, 8)


def _twin(program: prog.Program) -> prog.Program:
    """`program` with every input and output public: its pack_public gives the
    elements a private tensor would have shown had it been public."""
    return dataclasses.replace(
        program,
        inputs=tuple(dataclasses.replace(e, visibility="public") for e in program.inputs),
        outputs=tuple(dataclasses.replace(e, visibility="public") for e in program.outputs),
    )


def _tensor_packing(program: prog.Program, kind: str, q_inputs: list, q_outputs: list) -> list[int]:
    """The packed public elements of the first input (kind "input") or output in the public twin."""
    twin = _twin(program)
    packed = prog.pack_public(twin, q_inputs, q_outputs)
    layout = []
    cursor = 0
    for k, entries in (("input", twin.inputs), ("output", twin.outputs)):
        for e in entries:
            n = prog.signal_count(e, twin.tensors[e.tensor])
            layout.append((k, packed[cursor: cursor + n]))
            cursor += n
    return next(elements for k, elements in layout if k == kind)


def _int_needles(v: int) -> list[bytes]:
    """Encodings of a large integer a file could hold it in."""
    assert v.bit_length() > 64, "a small integer would match by chance"
    forms = [str(v), f"{v:x}", f"{v:064x}", f"{v:X}", f"{v:064X}"]
    needles = [f.encode() for f in forms]
    needles += [v.to_bytes(32, "little"), v.to_bytes(32, "big")]
    return needles


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _numbers(data: bytes) -> list[float | int]:
    """The numbers in a text, in order (JSON arrays come out flattened row by row)."""
    out: list[float | int] = []
    for m in _NUMBER.finditer(data):
        s = m.group().decode()
        out.append(int(s) if re.fullmatch(r"-?\d+", s) else float(s))
    return out


def _windows(secret, k: int) -> list[tuple]:
    """Runs of `k` consecutive values of `secret` with at least 3 distinct values
    (a run of zeros, say, is in every file and says nothing)."""
    flat = [v.item() if hasattr(v, "item") else v for v in np.asarray(secret).reshape(-1)]
    return [tuple(flat[i: i + k]) for i in range(len(flat) - k + 1) if len(set(flat[i: i + k])) >= 3]


def _has_run(numbers: list, windows: list[tuple], k: int) -> tuple | None:
    wanted = set(windows)
    for i in range(len(numbers) - k + 1):
        run = tuple(numbers[i: i + k])
        if run in wanted:
            return run
    return None


def _binary_runs(secret, k: int) -> list[bytes]:
    """`secret`'s runs as the bytes of each integer and float width."""
    out = []
    for w in _windows(secret, k):
        arr = np.asarray(w)
        for dtype in ("<i2", "<i4", "<i8", "<f4", "<f8", ">i2", ">i4", ">i8"):
            try:
                if dtype[1] == "i" and not np.all(arr == np.round(arr)):
                    continue
                out.append(arr.astype(dtype).tobytes())
            except OverflowError:
                continue
    return out


@dataclasses.dataclass
class Secret:
    name: str
    integers: list[int] = dataclasses.field(default_factory=list)  # large: salts, packed elements
    vectors: list = dataclasses.field(default_factory=list)  # tensors whose runs must not appear
    strings: list[str] = dataclasses.field(default_factory=list)  # e.g. a digest


RUN = 6


def _leaks(artifact: str, data: bytes, secrets: list[Secret]) -> list[str]:
    """What of `secrets` `data` (the bytes of a file or of a command's output) contains."""
    found = []
    lowered = data.lower()
    numbers = _numbers(data)
    for s in secrets:
        for v in s.integers:
            for needle in _int_needles(v):
                if needle in data or needle.lower() in lowered:
                    found.append(f"{artifact}: {s.name} as {needle[:20]!r}...")
        for text in s.strings:
            if text.encode().lower() in lowered:
                found.append(f"{artifact}: {s.name} ({text})")
        for vec in s.vectors:
            run = _has_run(numbers, _windows(vec, RUN), RUN)
            if run is not None:
                found.append(f"{artifact}: a run of {s.name}: {run}")
            for needle in _binary_runs(vec, RUN):
                if needle in data:
                    found.append(f"{artifact}: a run of {s.name} as binary {needle[:12].hex()}...")
                    break
    return found


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zkml.cli", *map(str, args)], capture_output=True, cwd=REPO,
                          timeout=120)


def _setup_digits(root: Path, name: str, visibility: dict[str, str], seed: int) -> Path:
    build = root / name
    zkml.compile(DIGITS / "model.onnx", build, calibration=DIGITS / "calibration.json", visibility=visibility)
    zkml.api._seeded_setup_for_tests(build, seed=seed)
    return build


# --- 1. nothing private in a verifier's artifacts ----------------------------------


CASES = {
    "input-hashed": {"input": "hashed"},
    "input-private-output-hashed": {"input": "private", "output": "hashed"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_private_value_in_any_artifact_a_verifier_receives(case, tmp_path):
    visibility = CASES[case]
    build = _setup_digits(tmp_path, "build", visibility, seed=31)
    out = tmp_path / "proof"
    image = _image()
    result = zkml.prove(build, [image], out)  # the salt comes from the OS, as for a user
    assert zkml.verify(build, out)
    b = zkml.api.load_build(build)
    p = b.program
    (inp,), (outp,) = p.inputs, p.outputs
    in_tensor, out_tensor = p.tensors[inp.tensor], p.tensors[outp.tensor]
    q_in = prog.quantize_inputs(p, [image])[0]
    q_out = np.asarray(result.quantized_outputs[outp.name])
    public = [int(v) for v in json.loads((out / "public.json").read_text())]

    # private.json: the prover's alone (0600), and holding the salt that was used
    private_path = out / "private.json"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    private_text = private_path.read_bytes()
    private = json.loads(private_text)
    salts = {k: int(v) for k, v in private["salts"].items()}
    hashed_key = "input:input" if inp.visibility == "hashed" else f"output:{outp.name}"
    assert list(salts) == [hashed_key]
    salt = salts[hashed_key]
    assert str(salt).encode() in private_text
    hashed_values, hashed_bits = ((q_in, in_tensor.bits) if inp.visibility == "hashed" else (q_out, out_tensor.bits))
    commitment = poseidon_commitment(hashed_values, hashed_bits, salt)
    assert commitment in public, "the salt in private.json is not the one the proof commits under"

    # the secrets: everything about a non-public tensor, and the salt
    secrets = [Secret("the salt", integers=[salt])]
    hidden = [("input", inp, in_tensor, q_in, image)]
    if outp.visibility != "public":
        hidden.append(("output", outp, out_tensor, q_out, result.outputs[outp.name]))
    for kind, entry, tensor, q, floats in hidden:
        # (the last input element packs only pixels 60..63, blank in every digit: 64 bits, left out)
        packing = [v for v in _tensor_packing(p, kind, [q_in], [q_out]) if v.bit_length() > 64]
        secrets.append(Secret(
            f"{kind} {entry.name!r} ({entry.visibility})",
            integers=packing + [poseidon_commitment(q, tensor.bits, 0)],  # packed as if public; unsalted hash
            vectors=[q, floats],
            strings=[_digest_of(prog.dequantize(p, entry.tensor, q)), _digest_of(np.asarray(floats))],
        ))

    # everything a verifier receives, and what `zkml verify` tells them
    sol = tmp_path / "Verifier.sol"
    zkml.export_verifier(build, sol)
    artifacts = {f"{out.name}/{n}": (out / n).read_bytes() for n in ("proof.json", "public.json", "output.json")}
    artifacts |= {f"build/{n}": (build / n).read_bytes()
                  for n in ("verification_key.json", "settings.json", "circuit.json", "constants.bin")}
    artifacts["Verifier.sol"] = sol.read_bytes()
    as_json = _cli("verify", build, out, "--json")
    assert as_json.returncode == 0, as_json.stderr
    plain = _cli("verify", build, out)
    assert plain.returncode == 0, plain.stderr
    artifacts["zkml verify --json"] = as_json.stdout + as_json.stderr
    artifacts["zkml verify"] = plain.stdout + plain.stderr

    leaks = [leak for name, data in artifacts.items() for leak in _leaks(name, data, secrets)]
    assert leaks == [], "private values in what a verifier receives:\n" + "\n".join(leaks)

    # positive controls: the same search finds what is there
    assert any("the salt" in x for x in _leaks("private.json", private_text, secrets))
    if outp.visibility == "public":
        shown = Secret("public output", integers=_tensor_packing(p, "output", [q_in], [q_out]), vectors=[q_out])
        assert len(_leaks("public.json", artifacts["proof/public.json"], [shown])) == 1
        assert _leaks("output.json", artifacts["proof/output.json"], [shown])
    else:
        assert any("run of output" in x for x in _leaks("private.json", private_text, secrets))
        assert private["quantized"][outp.name] == q_out.tolist()

    # output.json: only what the public signals show
    output = json.loads(artifacts["proof/output.json"])
    shown_outputs = [outp.name] if outp.visibility == "public" else []
    assert sorted(output["outputs"]) == shown_outputs and sorted(output["quantized"]) == shown_outputs
    assert output.get("commitments", {}) == ({outp.name: str(public[-1])} if outp.visibility == "hashed" else {})
    assert not any("input" in key for key in output)  # no input section of any kind

    # zkml verify --json: no input values; the commitment and the visibility of each tensor
    doc = json.loads(as_json.stdout)
    assert doc["valid"] is True
    assert doc["inputs"] == {}
    assert doc["visibility"] == {"input:input": inp.visibility, f"output:{outp.name}": outp.visibility}
    expected_commitments = {hashed_key: str(commitment)}
    assert doc["commitments"] == expected_commitments
    assert sorted(doc["outputs"]) == shown_outputs


def test_a_hashed_input_hides_behind_a_fresh_salt_each_proof(tmp_path):
    """Two proofs of one image get different salts, so different commitments:
    a verifier cannot even tell that the same input was proved twice."""
    build = _setup_digits(tmp_path, "build", {"input": "hashed"}, seed=32)
    prover = zkml.Prover(build)
    first, second = prover.prove([_image()], tmp_path / "one"), prover.prove([_image()], tmp_path / "two")
    assert first.public[0] != second.public[0] and first.public[1:] == second.public[1:]
    salts = [json.loads((tmp_path / d / "private.json").read_text())["salts"]["input:input"] for d in ("one", "two")]
    assert salts[0] != salts[1]


# --- 2. statistical indistinguishability --------------------------------------------


def _coordinates(proof: str | dict) -> list[int]:
    p = json.loads(proof) if isinstance(proof, str) else proof
    a, b, c = p["pi_a"], p["pi_b"], p["pi_c"]
    assert a[2] == "1" and c[2] == "1" and b[2] == ["1", "0"], "proof points are affine"
    values = [int(a[0]), int(a[1]), int(b[0][0]), int(b[0][1]), int(b[1][0]), int(b[1][1]), int(c[0]), int(c[1])]
    assert all(0 <= v < Q for v in values)
    return values


def _bernstein_threshold(n: int, alpha: float, var: float = 0.09) -> float:
    """t with 2 exp(-n t^2 / (2 sigma^2 + 2t/3)) = alpha, sigma^2 = 2 var: the
    mean of n i.i.d. differences X - Y (|X - Y| <= 1) exceeds t in absolute
    value with probability at most alpha."""
    log = math.log(2 / alpha)
    sigma2 = 2 * var
    return (2 * log / 3 + math.sqrt((2 * log / 3) ** 2 + 8 * n * log * sigma2)) / (2 * n)


def _distinguish(a: list[list[int]], b: list[list[int]], alpha: float = ALPHA) -> list[str]:
    """The tests (of the module docstring) that tell sample `a` of proof
    coordinates from sample `b`; [] when none does."""
    from scipy.stats import fisher_exact, ks_2samp

    per_test = (alpha / 2) / (len(COORDS) * (1 + LOW_BITS))
    per_mean = (alpha / 2) / len(COORDS)
    n = min(len(a), len(b))
    rejected = []
    for j, name in enumerate(COORDS):
        xa, xb = [row[j] for row in a], [row[j] for row in b]
        fa, fb = np.array([v / Q for v in xa]), np.array([v / Q for v in xb])
        ks = ks_2samp(fa, fb, method="exact").pvalue
        if ks < per_test:
            rejected.append(f"{name}: Kolmogorov-Smirnov p={ks:.3g}")
        for bit in range(LOW_BITS):
            ca, cb = sum((v >> bit) & 1 for v in xa), sum((v >> bit) & 1 for v in xb)
            p = fisher_exact([[ca, len(xa) - ca], [cb, len(xb) - cb]]).pvalue
            if p < per_test:
                rejected.append(f"{name}: bit {bit} Fisher p={p:.3g} ({ca}/{len(xa)} vs {cb}/{len(xb)})")
        diff = abs(fa.mean() - fb.mean())
        if diff > _bernstein_threshold(n, per_mean):
            se = math.sqrt(fa.var() / len(fa) + fb.var() / len(fb))
            rejected.append(f"{name}: means differ by {diff:.4f} ({diff / se:.1f} standard errors)")
    return rejected


def _sample(prover: zkml.Prover, quantized: list[np.ndarray], n: int, seed: int | None = None) -> list[list[int]]:
    """`n` proofs by the native prover `zkml.Prover.prove` calls (seed None: r
    and s from the OS, as every proof of the public API), as coordinates."""
    flat = [q.reshape(-1).tolist() for q in quantized]
    return [_coordinates(prover._native.prove(flat, seed, [])["proof"]) for _ in range(n)]


def _check_some_verify(build: Path, prover: zkml.Prover, quantized, public, count: int = 5) -> None:
    vk = (build / "verification_key.json").read_text()
    flat = [q.reshape(-1).tolist() for q in quantized]
    for _ in range(count):
        out = prover._native.prove(flat, None, [])
        assert out["public"] == public
        assert _native.verify(vk, out["proof"], json.dumps(out["public"]))


def _tiny_model(path: Path) -> Path:
    """y = Relu(x W + b), x: 8 values, y: 4. W > 0 in columns 0..2; column 3 reads
    x[0] alone. Any x with x[0] fixed and x[1:] negative enough gives the same y:
    the same public signals from inputs (and accumulators, ReLU selectors, range
    check bits: the whole witness) that differ everywhere else."""
    w = np.abs(np.random.default_rng(0).normal(size=(8, 4))) + 0.1
    w[:, 3] = 0.0
    w[0, 3] = 1.0
    w[0, :3] = 0.05
    b = np.array([0.0, 0.0, 0.0, 0.25])
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["z"]),
             helper.make_node("Relu", ["z"], ["y"])]
    return save_model(path, nodes, [value("x", [1, 8], TensorProto.FLOAT)], [value("y", [1, 4], TensorProto.FLOAT)],
                      [const("W", w, np.float32), const("b", b, np.float32)], name="zk_tiny")


TINY_A = np.array([[0.5, -0.9, -0.3, -0.7, -0.1, -0.8, -0.6, -0.2]])
TINY_B = np.array([[0.5, -0.2, -0.95, -0.1, -0.6, -0.4, -0.3, -0.75]])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny model with its input private, a seeded setup, and n proofs of
    each of two inputs with equal public signals."""
    root = tmp_path_factory.mktemp("zk_tiny")
    calibration = np.random.default_rng(1).uniform(-1, 1, size=(50, 1, 8))
    build = root / "build"
    zkml.compile(_tiny_model(root / "tiny.onnx"), build, calibration=calibration, visibility={"input": "private"})
    zkml.api._seeded_setup_for_tests(build, seed=33)
    prover = zkml.Prover(build)
    qa = prog.quantize_inputs(prover.build.program, [TINY_A])
    qb = prog.quantize_inputs(prover.build.program, [TINY_B])
    return build, prover, qa, qb


@pytest.fixture(scope="module")
def tiny_samples(tiny):
    build, prover, qa, qb = tiny
    return _sample(prover, qa, TINY_PROOFS), _sample(prover, qb, TINY_PROOFS)


def test_two_inputs_of_the_tiny_model_have_the_same_public_signals(tiny, tmp_path):
    build, prover, qa, qb = tiny
    assert np.count_nonzero(qa[0] != qb[0]) == 7  # every value but x[0] differs
    ra, rb = prover.prove([TINY_A], tmp_path / "a"), prover.prove([TINY_B], tmp_path / "b")
    assert ra.public == rb.public and len(ra.public) == 1  # y, packed: nothing of x is public
    assert ra.quantized_outputs["y"].tolist() == rb.quantized_outputs["y"].tolist()
    assert ra.quantized_outputs["y"].reshape(-1)[3] != 0
    # the public API draws fresh r, s each proof: same input, same statement, another proof
    rc = prover.prove([TINY_A], tmp_path / "c")
    proofs = [json.loads((tmp_path / d / "proof.json").read_text()) for d in "abc"]
    assert len({json.dumps(_coordinates(p)) for p in proofs}) == 3
    assert rc.public == ra.public and all(zkml.verify(build, tmp_path / d) for d in "abc")
    _check_some_verify(build, prover, qa, ra.public)
    _check_some_verify(build, prover, qb, ra.public)


def test_proofs_of_two_inputs_with_equal_public_signals_are_indistinguishable(tiny_samples):
    a, b = tiny_samples
    assert len({tuple(row) for row in a + b}) == len(a) + len(b), "a proof repeated: the prover's r, s repeat"
    assert _distinguish(a, b) == []


def test_the_distinguisher_has_power(tiny, tiny_samples):
    build, prover, qa, qb = tiny
    a, b = tiny_samples
    # r, s fixed by the native test seed: the proof is a function of the witness
    seeded_a, seeded_b = _sample(prover, qa, 2, seed=7), _sample(prover, qb, 1, seed=7)
    assert seeded_a[0] == seeded_a[1], "a seeded proof is deterministic"
    assert seeded_a[0] != seeded_b[0], "with r and s fixed, the witness shows in the proof"
    # one proof repeated: every coordinate's KS test rejects
    constant = seeded_a[:1] * len(b)
    rejected = _distinguish(constant, b)
    assert {r.split(":")[0] for r in rejected if "Kolmogorov" in r} == set(COORDS), rejected
    # a prover that leaked one witness bit in A.x's parity
    even = [row for row in b if row[0] % 2 == 0]
    assert any(r.startswith("A.x: bit 0 Fisher") for r in _distinguish(even, a)), _distinguish(even, a)
    # a biased C (its y in the lower half)
    low = [row for row in b if row[7] < Q // 2]
    assert "C.y: Kolmogorov" in " ".join(_distinguish(low, a))
    # and the same check on the unbiased halves accepts
    assert _distinguish(a[: len(a) // 2], a[len(a) // 2:]) == []


def _equal_output_twin(build: zkml.api.Build, image: np.ndarray) -> np.ndarray:
    """Another image that the digits circuit maps to the same quantized logits:
    `image` plus a perturbation (up to 0.25 per pixel) in the null space of the
    network's linearisation at `image` (10 logits from 64 pixels leave a
    54-dimensional null space), retried until the rounding agrees too."""
    weights = {i.name: numpy_helper.to_array(i).astype(np.float64)
               for i in onnx.load(DIGITS / "model.onnx").graph.initializer}
    w1, b1, w2 = weights["fc1.weight"], weights["fc1.bias"], weights["fc2.weight"]
    x = image.reshape(-1)
    active = (w1 @ x + b1) > 0
    _, _, vt = np.linalg.svd(w2 @ (w1 * active[:, None]))
    null = vt[w2.shape[0]:]
    q = prog.quantize_inputs(build.program, [image])[0].reshape(-1).tolist()
    _, public = _native.evaluate(build.data, build.constants, [q], [])
    rng = np.random.default_rng(5)
    for _ in range(500):
        v = rng.normal(size=null.shape[0]) @ null
        other = (x + v / np.abs(v).max() * 0.25).reshape(image.shape)
        q2 = prog.quantize_inputs(build.program, [other])[0].reshape(-1).tolist()
        if _native.evaluate(build.data, build.constants, [q2], [])[1] == public:
            return other
    raise AssertionError("no image with the same logits found")


def test_digits_proofs_of_two_images_with_the_same_logits_are_indistinguishable(tmp_path):
    build_dir = _setup_digits(tmp_path, "build", {"input": "private"}, seed=34)
    prover = zkml.Prover(build_dir)
    image = _image()
    other = _equal_output_twin(prover.build, image)
    qa = prog.quantize_inputs(prover.build.program, [image])
    qb = prog.quantize_inputs(prover.build.program, [other])
    moved = np.abs(qa[0] - qb[0])
    assert np.count_nonzero(moved > 100) >= 48 and moved.max() >= 4000  # a different image, not a rounding
    ra, rb = prover.prove([image], tmp_path / "a"), prover.prove([other], tmp_path / "b")
    assert ra.public == rb.public
    assert zkml.verify(build_dir, tmp_path / "a") and zkml.verify(build_dir, tmp_path / "b")
    a, b = _sample(prover, qa, DIGITS_PROOFS), _sample(prover, qb, DIGITS_PROOFS)
    assert len({tuple(row) for row in a + b}) == len(a) + len(b)
    assert _distinguish(a, b) == []
    # the distinguisher has power at this sample size too
    assert _distinguish(_sample(prover, qa, 1, seed=3) * DIGITS_PROOFS, b)
