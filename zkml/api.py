"""The Python API. The CLI (`zkml.cli`) is a thin layer over these functions.

    import zkml
    zkml.compile("model.onnx", "build", calibration="calibration.json")
    zkml.setup("build", dev=True)
    result = zkml.prove("build", "input.json", "out")
    assert zkml.verify("build", "out")
    zkml.export_verifier("build", "Verifier.sol")

Every failure is a :class:`zkml.ZkmlError`; no command leaves a partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zkml import __version__, _native, artifacts, privacy, progress
from zkml import program as prog
from zkml import sender as _sender
from zkml.artifacts import Staging, check_hash, file_size, read_bytes, read_json, require_dir
from zkml.errors import (
    ArgumentError,
    CircuitMismatchError,
    DeviceError,
    InputFileError,
    InputShapeError,
    ModelError,
    QuantizationError,
    ZkmlError,
)

if TYPE_CHECKING:
    import onnx
    import torch

DEV_SETUP_NOTE = (
    "development setup: the toxic randomness (tau, alpha, beta, gamma, delta) was generated "
    "on this machine and discarded; anyone who kept it could forge proofs. Not for production."
)

@dataclass
class CompileResult:
    build_dir: Path
    settings: dict
    warnings: list[str] = field(default_factory=list)
    """What the circuit assumes without having been told (see `compile_warnings`)."""
    stages: list[progress.Stage] = field(default_factory=list)
    """Each stage's seconds and the peak RSS at its end (`zkml.progress`)."""

    @property
    def circuit_hash(self) -> str:
        return self.settings["circuit_hash"]


@dataclass
class SetupResult:
    build_dir: Path
    proving_key: Path
    verification_key: Path
    seconds: float
    note: str = DEV_SETUP_NOTE
    stages: list[progress.Stage] = field(default_factory=list)
    """Each stage's seconds and the peak RSS at its end (`zkml.progress`)."""


@dataclass
class ProveResult:
    out_dir: Path
    outputs: dict[str, np.ndarray]
    """Dequantized model outputs, by ONNX output name."""
    quantized_outputs: dict[str, np.ndarray]
    public: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = "cpu"
    device: str = ""
    """The device that proved and why it was chosen, e.g. "cuda (NVIDIA H100 ...)"."""
    warnings: list[str] = field(default_factory=list)
    """What the proof does not promise: e.g. an input outside the calibration
    range, for which the certified error bound does not hold."""
    stages: list[progress.Stage] = field(default_factory=list)
    """Each stage's seconds and the peak RSS at its end (`zkml.progress`); the
    first proof of a `Prover` includes the loading stages."""

    @property
    def paths(self) -> dict[str, Path]:
        """The files written: ``proof`` (proof.json), ``public`` (public.json), ``output`` (output.json)."""
        return {
            "proof": self.out_dir / artifacts.PROOF,
            "public": self.out_dir / artifacts.PUBLIC,
            "output": self.out_dir / artifacts.OUTPUT,
        }


# --- loading a build ---------------------------------------------------------------


def _path(value: Any, what: str) -> Path:
    """A path argument, or an ArgumentError naming it."""
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentError(f"{what} must be a path (str or pathlib.Path), got {type(value).__name__}")
    return Path(value)


@dataclass
class Build:
    """A compiled circuit directory: the program's two files, the typed
    program and the settings."""

    dir: Path
    data: bytes
    """The bytes of circuit.json (their SHA-256 is the circuit hash)."""
    constants: bytes
    """The bytes of constants.bin."""
    program: prog.Program
    settings: dict
    weights: privacy.CommittedWeights | None = None
    """The committed weights (values, salt, commitment) of a build compiled with them."""

    @property
    def circuit_hash(self) -> str:
        return self.settings["circuit_hash"]


def load_build(build_dir: str | Path) -> Build:
    """Read and check a build: circuit.json, constants.bin (read once, hashed
    once against the circuit's constants_sha256; the program's constant arrays
    are read-only views of `Build.constants`, not copies), settings.json, and
    the committed weights of a build compiled with them."""
    return _load_build(build_dir, values=True)


def _load_build(build_dir: str | Path, values: bool, check_settings: bool = True,
                on_files: Callable[[Path, bytes, privacy.CommittedWeights | None, dict | None], None] | None = None
                ) -> Build:
    """`load_build`; with `values=False` the program is its layout only
    (`prog.from_document`) and constants.bin is not read (`Build.constants`
    is empty): for a caller that hands `data` and constants.bin's path to
    the native side, which reads, hashes and checks the file itself, and
    wraps its refusals with `_native_file_error`. With `check_settings=False`
    settings.json is checked against the circuit's hash and format version
    only; the caller runs `_check_settings` (its schema) later. `on_files`
    is called with the folder, circuit.json's bytes, the committed weights and
    settings.json (None unless it names this circuit's hash; not yet checked
    against its schema) as soon as they are read, before the program is built
    and checked."""
    d = require_dir(_path(build_dir, "build_dir"), "build directory", "run `zkml compile MODEL.onnx -o BUILD` first")
    data = read_bytes(d / artifacts.CIRCUIT, "circuit")
    # A layout needs constants.bin's length only: the native side reads the file.
    constants = read_bytes(d / artifacts.CONSTANTS, "circuit constants") if values else b""
    size = len(constants) if values else file_size(d / artifacts.CONSTANTS, "circuit constants")
    settings = read_json(d / artifacts.SETTINGS, "settings")
    try:
        doc = prog.parse_document(data)
    except ZkmlError as e:
        raise InputFileError(f"{d / artifacts.CIRCUIT}: {e}", d / artifacts.CIRCUIT) from None
    # The committed weights are read first, so that the program is parsed,
    # hashed and validated once, with them.
    weights = privacy.read_weights(d, prog.commits_weights(doc))
    actual = prog.circuit_hash(data)
    if on_files is not None:
        described = isinstance(settings, dict) and settings.get("circuit_hash") == actual
        on_files(d, data, weights, settings if described else None)
    try:
        program = prog.from_document(doc, constants if values else size, weights.blob if weights is not None else None,
                                     values)
    except ZkmlError as e:
        culprit = next((name for name in (artifacts.CONSTANTS, privacy.WEIGHTS_BIN) if name in str(e)),
                       artifacts.CIRCUIT)
        raise InputFileError(f"{d / culprit}: {e}", d / culprit) from None
    if not isinstance(settings, dict) or settings.get("circuit_hash") != actual:
        raise CircuitMismatchError(
            f"{d / artifacts.SETTINGS} does not describe {d / artifacts.CIRCUIT} (circuit hash differs); "
            "recompile the model"
        )
    if settings.get("format_version") != artifacts.FORMAT_VERSION:
        raise CircuitMismatchError(
            f"{d} was written by another zkml format version ({settings.get('format_version')}); recompile"
        )
    build = Build(d, data, constants, program, settings, weights)
    if check_settings:
        _check_settings(build)
    return build


def _check_settings(build: Build) -> None:
    """settings.json against its schema, and its weights commitment against
    weights.json's (the rest of `load_build`'s checks of it)."""
    from zkml import schemas

    d = build.dir
    schemas.validate(schemas.Settings, build.settings, str(d / artifacts.SETTINGS))
    if build.weights is not None and str(build.weights.commitment) != build.settings.get("weights", {}).get("commitment"):
        raise CircuitMismatchError(f"{d / privacy.WEIGHTS_JSON} and {d / artifacts.SETTINGS} name different "
                                   "weights commitments: compile the model again")


# --- compile -----------------------------------------------------------------------


def compile(  # shadows the builtin on purpose: the API verb
    model: str | Path | onnx.ModelProto | torch.nn.Module,
    build_dir: str | Path,
    calibration: str | Path | dict | np.ndarray | Sequence[np.ndarray] | None = None,
    bits: int = 16,
    input_shapes: dict[str, Sequence[int]] | None = None,
    example_inputs: Any = None,
    bind_sender: bool = False,
    visibility: dict[str, str] | None = None,
    weights: str = "constant",
) -> CompileResult:
    """Quantize a model and compile it into a circuit in `build_dir`.

    `model` is an ONNX file's path, an ``onnx.ModelProto``, or a
    ``torch.nn.Module`` (exported with ``torch.onnx.export`` at the shapes of
    `example_inputs`: one tensor or array per ``forward`` argument; inputs
    are then named after those arguments, outputs ``output``).
    `calibration` holds sample inputs that choose the scales: a calibration
    file's path, its parsed dict, or numpy arrays / torch tensors (one
    ``[samples, *shape]`` array per model input, or just the array for a
    one-input model); without it every input is assumed to lie in [-1, 1]
    (the result's `warnings` say so).

    Writes `circuit.json` (the quantized program, whose SHA-256 is the circuit
    hash), `constants.bin` (its weights and index tables, covered by that
    hash) and `settings.json` (constraint counts, scales, error report).
    `input_shapes` pins model inputs with open dimensions, e.g.
    ``{"x": (1, 8, 16)}`` (a symbolic leading batch axis is taken as 1).
    `bind_sender` adds one public input, the address that will submit the
    proof to a settlement contract (`zkml.sender`; `prove(..., sender=ADDR)`);
    settings.json records which public signal holds it.
    `visibility` chooses what a verifier sees of each input and output:
    ``{"input": "hashed"}`` (every input), ``{"output": "private"}``, or
    ``{NAME: MODE}`` for one of them, MODE being "public" (the values, the
    default), "hashed" (a salted Poseidon commitment) or "private" (nothing);
    see `zkml.privacy`. settings.json lists the public signals each takes.
    `weights="committed"` makes the linear and affine weights and biases
    private values bound by one public salted commitment (settings.json's
    `weights.commitment`; the values and salt go to weights.bin/weights.json,
    the model owner's): the circuit hash and keys then depend on the
    architecture and scales only, so a retrained model compiled into the same
    build keeps its keys.
    """
    from zkml.frontend import load_model
    from zkml.inputs import python_calibration
    from zkml.quantize import quantize

    source, label = _model_source(model, example_inputs)
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise ArgumentError(f"bits must be an integer, got {type(bits).__name__}")
    if input_shapes is not None and not isinstance(input_shapes, dict):
        raise ArgumentError(f"input_shapes must be a dict of input name -> shape, got {type(input_shapes).__name__}")
    _path(build_dir, "build_dir")
    started = time.perf_counter()
    rec = progress.recorder()
    mark = len(rec.stages)
    rec.begin("load_model")
    graph = load_model(source, input_shapes)
    rec.begin("quantize")
    samples = python_calibration(calibration, graph)
    existing = privacy.committed_template(Path(build_dir)) if weights == "committed" else None
    # Another width is another circuit: nothing to keep.
    template = existing if existing is not None and existing.weight_bits == bits else None
    program, report = quantize(graph, samples, bits=int(bits), template=template,
                               weight_headroom=1 if weights == "committed" else 0)
    rec.begin("measure_error")
    report["measured_error_vs_onnxruntime"] = _measured_error_vs_onnxruntime(source, program, samples)
    rec.begin("lower")
    program = privacy.apply_visibility(program, visibility)
    if bind_sender:
        program = _sender.bind_sender(program)
    if weights not in ("constant", "committed"):
        raise ArgumentError(f"weights must be 'constant' or 'committed', got {weights!r}")
    committed = None
    if weights == "committed":
        program = privacy.commit_weights(program, int(bits))
        committed = privacy.make_weights(program)
    data, constants = program.to_files()
    with rec.native() as handle:
        info = _native.circuit_info(data, constants, progress=handle)

    settings = {
        "zkml_version": __version__,
        "format_version": artifacts.FORMAT_VERSION,
        "circuit_hash": info["circuit_hash"],
        "model": label,
        "bits": bits,
        "constraints": info["constraints"],
        "variables": info["variables"],
        "public_inputs": info["public_inputs"],
        "qap_domain_size": info["domain_size"],
        "matrix_nonzeros": info["nonzeros"],
        "constraints_by_instruction": dict(info["constraints_by_instruction"]),
        "inputs": [_io_settings(program, e) for e in program.inputs],
        "outputs": [_io_settings(program, e) for e in program.outputs],
        "public_signals": privacy.signal_layout(program),
        "tensors": [t.to_json() for t in program.tensors],
        "quantization": report,
        "compile_seconds": round(time.perf_counter() - started, 3),
    }
    if bind_sender:
        settings["sender"] = {"input": _sender.SENDER_INPUT, "signal": _sender.sender_signal(program)}
    if committed is not None:
        settings["weights"] = {"mode": "committed", "commitment": str(committed.commitment),
                               "signal": info["public_inputs"] - 1, "bits": int(bits),
                               "values": sum(int(v.size) for _, v, _ in program.committed_constants())}
    build = Path(build_dir)
    warnings: list[str] = []
    rec.begin("write")
    with Staging(build) as stage:
        previous = build / artifacts.SETTINGS
        if previous.exists():
            try:
                stale = json.loads(previous.read_text()).get("circuit_hash") != settings["circuit_hash"]
            except (OSError, ValueError, AttributeError):
                stale = True
            if stale and existing is not None and (build / artifacts.PROVING_KEY).exists():
                raise CircuitMismatchError(
                    f"{build} holds keys for a circuit with committed weights, and this model compiles to "
                    f"another circuit ({privacy.first_difference(existing, program)}): its keys, and a verifier "
                    "deployed from them, cannot serve it. Compile into a new directory, or delete "
                    f"{build / artifacts.PROVING_KEY} to replace them")
            if stale:  # keys of another circuit must not survive next to this one
                if (build / artifacts.PROVING_KEY).exists():
                    warnings.append(f"{build} held keys for another circuit: they were removed (run setup again)")
                stage.remove_on_commit(artifacts.PROVING_KEY)
                stage.remove_on_commit(artifacts.VERIFICATION_KEY)
            elif committed is not None and (build / artifacts.PROVING_KEY).exists():
                warnings.append(f"the circuit is unchanged: {build}'s keys (and a verifier deployed from them) "
                                f"serve the new weights, commitment {committed.commitment}")
        stage.write_bytes(artifacts.CIRCUIT, data)
        stage.write_bytes(artifacts.CONSTANTS, constants)
        stage.write_json(artifacts.SETTINGS, settings)
        if committed is not None:
            stage.write_bytes(privacy.WEIGHTS_BIN, committed.blob, private=True)
            stage.write_json(privacy.WEIGHTS_JSON, privacy.weights_document(committed), private=True)
        else:
            stage.remove_on_commit(privacy.WEIGHTS_BIN)
            stage.remove_on_commit(privacy.WEIGHTS_JSON)
    rec.end()
    return CompileResult(build, settings, compile_warnings(settings) + warnings, rec.stages[mark:])


def _model_source(model: Any, example_inputs: Any) -> tuple[Path | onnx.ModelProto, str]:
    """What `load_model` reads (a path or a ModelProto), and how settings.json names it."""
    import onnx

    from zkml.frontend import torch_export

    if isinstance(model, (str, os.PathLike)):
        return Path(model), str(model)
    if isinstance(model, onnx.ModelProto):
        return model, f"<onnx.ModelProto {model.graph.name or 'unnamed'}>"
    if torch_export.is_module(model):
        return torch_export.export_module(model, example_inputs), f"<torch.nn.Module {type(model).__name__}>"
    raise ArgumentError(
        f"model must be a path to an .onnx file, an onnx.ModelProto or a torch.nn.Module; got {type(model).__name__}"
    )


def compile_warnings(settings: dict) -> list[str]:
    """What a compiled circuit assumes without having been told: no
    calibration data, and tensors whose range is not certified."""
    quant = settings.get("quantization", {})
    warnings = []
    if quant.get("calibration", {}).get("assumed"):
        warnings.append("no calibration data: every input is assumed to lie in [-1, 1]; scales and the "
                        "certified bound are for that box (give calibration samples: --calibration, "
                        "or calibration= in Python)")
    uncertified = [t["name"] for t in quant.get("tensors", []) if not t.get("range_certified", True)]
    if uncertified:
        shown = ", ".join(uncertified[:8]) + (f" (+{len(uncertified) - 8} more)" if len(uncertified) > 8 else "")
        warnings.append(f"ranges not certified (an input in the calibration box may overflow them and fail "
                        f"to prove): {shown}")
    return warnings


def _io_settings(program: prog.Program, entry: prog.Io) -> dict:
    return {"name": entry.name, **program.tensors[entry.tensor].to_json(), "visibility": entry.visibility}


def _measured_error_vs_onnxruntime(model: Path | onnx.ModelProto, program: prog.Program, samples) -> dict | None:
    """Max |quantized - float| per output over the calibration samples, the
    float side computed by onnxruntime (None without onnxruntime or samples)."""
    if samples is None:
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    from zkml import reference

    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    n = samples[0].shape[0]
    float_outs: list[list[np.ndarray]] = [[] for _ in program.outputs]
    for k in range(n):
        feed = {name: s[k].astype(np.float32) for name, s in zip(names, samples)}
        for j, value in enumerate(session.run([o.name for o in program.outputs], feed)):
            float_outs[j].append(np.asarray(value, dtype=np.float64).reshape(-1))
    q_in = prog.quantize_inputs(program, samples)
    q_out = reference.evaluate(program, q_in)
    result = {}
    for j, entry in enumerate(program.outputs):
        deq = prog.dequantize(program, entry.tensor, q_out[j]).reshape(n, -1)
        ref = np.stack(float_outs[j]).reshape(n, -1)
        result[entry.name] = float(np.max(np.abs(deq - ref)))
    return {"samples": int(n), "max_abs_error": result}


# --- setup -------------------------------------------------------------------------


def setup(build_dir: str | Path, dev: bool = False, ptau: str | Path | None = None) -> SetupResult:
    """Make the Groth16 keys for a compiled circuit.

    `ptau=FILE` starts a production phase-2 ceremony from a prepared
    powers-of-tau file (see :mod:`zkml.ceremony` for contributions, the
    beacon and verification). `dev=True` is the local development setup: its
    randomness is generated here from the OS and discarded, so it is not for
    production. There is deliberately no way to seed it: a seeded setup's
    secrets can be recovered from its verification key by trying seeds, and
    with them any false proof can be made to verify.
    """
    if ptau is not None:
        if dev:
            raise ArgumentError("choose one of dev=True and ptau=FILE")
        from zkml import ceremony

        started = time.perf_counter()
        with progress.recording() as rec:
            mark = len(rec.stages)
            ceremony.setup_from_ptau(build_dir, ptau)
            rec.end()
        build = Path(build_dir)
        return SetupResult(build, build / artifacts.PROVING_KEY, build / artifacts.VERIFICATION_KEY,
                           time.perf_counter() - started,
                           "phase 2 has no contribution yet: add one with zkml.ceremony.contribute before use",
                           rec.stages[mark:])
    return _setup(build_dir, dev, None)


SEEDED_SETUP_NOTE = (
    "TEST ONLY, not for production: the setup randomness came from a fixed seed, so anyone "
    "who guesses the seed can recover it and forge proofs for this key"
)


def _seeded_setup_for_tests(build_dir: str | Path, seed: int) -> SetupResult:
    """Reproducible keys for the test suite; the key is labelled as such."""
    return _setup(build_dir, True, seed)


def _setup(build_dir: str | Path, dev: bool, seed: int | None) -> SetupResult:
    if not dev:
        raise ZkmlError(
            "choose a setup: a ceremony from a powers-of-tau file (`zkml setup BUILD --ptau FILE`), "
            "or the local development setup (`zkml setup BUILD --dev`), which is not for production"
        )
    rec = progress.recorder()
    mark = len(rec.stages)
    rec.begin("load_build")
    build = load_build(build_dir)
    from zkml.estimate import check_memory

    check_memory("setup", build.settings, build.dir)
    started = time.perf_counter()
    with Staging(build.dir) as stage:
        with rec.native() as handle:
            vk_text = _native.setup(build.data, build.constants, str(stage.path(artifacts.PROVING_KEY)), seed,
                                    progress=handle)
        rec.begin("write")
        vk = json.loads(vk_text)
        vk["circuit_hash"] = build.circuit_hash
        if seed is None:
            vk["zkml_setup"] = {"kind": "local-dev", "note": DEV_SETUP_NOTE}
        else:
            vk["zkml_setup"] = {"kind": "seeded-test-only", "note": SEEDED_SETUP_NOTE}
        stage.write_json(artifacts.VERIFICATION_KEY, vk)
    rec.end()
    return SetupResult(
        build.dir,
        build.dir / artifacts.PROVING_KEY,
        build.dir / artifacts.VERIFICATION_KEY,
        time.perf_counter() - started,
        stages=rec.stages[mark:],
    )


# --- prove -------------------------------------------------------------------------


def _float_inputs(build: Build, inputs: str | Path | dict | np.ndarray | Sequence[np.ndarray],
                  sender_address: str | None = None) -> list[np.ndarray]:
    """One float array per program input: the model's, read from `inputs`,
    then, for a build compiled with bind_sender, the sender's limbs."""
    from zkml.inputs import python_inputs

    floats = python_inputs(inputs, _sender.model_inputs(build.program))
    if _sender.binds_sender(build.program):
        if sender_address is None:
            raise ArgumentError("this build binds the proof to its sender (compiled with --bind-sender): give the "
                                "address that will submit it (zkml prove --sender ADDR, or sender= in Python)")
        floats.append(_sender.sender_limbs(sender_address).astype(np.float64))
    elif sender_address is not None:
        raise ArgumentError("this build does not bind a sender: compile it with --bind-sender "
                            "(bind_sender=True) to prove for an address")
    return floats


def _quantized_inputs(build: Build, inputs: str | Path | dict | Sequence[np.ndarray],
                      sender_address: str | None = None) -> list[np.ndarray]:
    """An input.json path, its parsed dict, or one float array per model input,
    quantized for `build`'s circuit."""
    return prog.quantize_inputs(build.program, _float_inputs(build, inputs, sender_address))


def calibration_warnings(build: Build, floats: list[np.ndarray]) -> list[str]:
    """One line per model input that leaves the calibration range recorded at
    compile time (the box the certified error bound is for), or that was
    never calibrated."""
    calibration = build.settings.get("quantization", {}).get("calibration", {})
    ranges = calibration.get("inputs", {})
    assumed = calibration.get("assumed", False)
    warnings = []
    for entry, values in zip(build.program.inputs, floats):
        box = ranges.get(entry.name)
        if not box or values.size == 0:
            continue
        lo, hi = float(box["min"]), float(box["max"])
        low, high = float(np.min(values)), float(np.max(values))
        if low < lo or high > hi:
            outside = int(np.count_nonzero((values < lo) | (values > hi)))
            worst = max(lo - low, high - hi)
            what = "the assumed range" if assumed else "its calibration range"
            warnings.append(
                f"input '{entry.name}' leaves {what} [{lo:g}, {hi:g}] at {outside} of "
                f"{values.size} values (by up to {worst:g}): the proof holds, but the certified "
                "error bound in settings.json does not cover this input; recompile with "
                "calibration data that covers it")
    return warnings


def _check_device(device: str) -> None:
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}: use auto, cpu or cuda")
    if device != "cpu":
        from zkml import device as _device

        _device.configure()


def _check_vk_beside_pk(build: Build, vk_in_pk: str) -> None:
    # The verifying key inside the proving key must be the one beside it: a
    # setup killed between writing the two files leaves them mismatched, and
    # proofs would then never verify.
    vk_path = build.dir / artifacts.VERIFICATION_KEY
    if vk_path.exists():
        on_disk = read_json(vk_path, "verification key")
        in_pk = json.loads(vk_in_pk)
        fields = ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC")
        if not isinstance(on_disk, dict) or any(on_disk.get(f) != in_pk[f] for f in fields):
            raise CircuitMismatchError(
                f"{vk_path} does not match the proving key (was a setup interrupted?); "
                f"run `zkml setup {build.dir} --dev` again"
            )


def _native_file_error(build_dir: Path, error: ZkmlError) -> ZkmlError:
    """A native refusal of constants.bin or weights.bin as load_build words it
    (an InputFileError naming the file); any other error as it is."""
    culprit = next((name for name in (artifacts.CONSTANTS, privacy.WEIGHTS_BIN) if name in str(error)), None)
    if culprit is None:
        return error
    return InputFileError(f"{build_dir / culprit}: {error}", build_dir / culprit)


def _owner_weights(build: Build) -> privacy.CommittedWeights | None:
    """The committed weights a witness needs (None: the weights are constants);
    an InputFileError for a build that holds only what a verifier needs."""
    if build.program.weight_bits is not None and build.weights is None:
        raise InputFileError(f"{build.dir}'s weights are committed and {privacy.WEIGHTS_BIN} is not there: "
                             "proving needs the model owner's weights.bin and weights.json",
                             build.dir / privacy.WEIGHTS_BIN)
    return build.weights


def _witness_salts(build: Build, salts: Any) -> list[int]:
    """The salts of a witness, in the order the circuit takes them: one per
    hashed tensor (from `salts` or fresh, `privacy.salts_for`), then the weights'."""
    values = privacy.salts_for(build.program, salts)
    owned = _owner_weights(build)
    if owned is not None:
        values.append(owned.salt)
    return values


class Prover:
    """A build and its proving key loaded once, for many proofs.

        prover = zkml.Prover("build", device="auto")
        for i, x in enumerate(batch):
            prover.prove([x], f"out/{i}")

    Construction reads the build and the proving key (checked against the
    circuit) and, on a GPU, uploads the key's points once; a key that does not
    fit the GPU's free memory is a DeviceError naming the sizes with "cuda",
    and a CPU prover saying why with "auto". `prove` returns what `zkml.prove`
    returns and writes the same files.

    The constants (constants.bin, and weights.bin of committed weights) are
    held once, by the native prover, which checks them against the circuit
    as `load_build` does (a tampered file is an InputFileError naming it);
    the Python side keeps the program's layout. `build` is the build as
    `load_build` reads it, read again on first use.

    `device`: the device as proofs report it. `key_bytes`: host bytes of the
    proving key held (its points as stored in memory, plus its fixed part).
    `device_bytes`: bytes of the key's points resident on the GPU (0 on the
    CPU; a proof's MSM and NTT working buffers are not counted)."""

    def __init__(self, build_dir: str | Path, device: str = "auto"):
        self._open(build_dir, device, one_proof=False)

    @classmethod
    def _for_one_proof(cls, build_dir: str | Path, device: str) -> Prover:
        """A Prover for `zkml.prove`'s single proof. The native side reads
        the circuit and the key on threads of its own as soon as circuit.json
        is read, while this thread builds and checks the layout and
        settings.json and reads the input; the proof waits for them (its
        synthesis runs while the key is still being read, and constants.bin
        is hashed meanwhile), and a bad constants.bin or key is that proof's
        error. On the CPU the key's checksum is checked only if the proof
        fails (to name a corrupt key): a proof that verifies itself with the
        key's verifying key needs no more."""
        self = cls.__new__(cls)
        self._open(build_dir, device, one_proof=True)
        return self

    def _open(self, build_dir: str | Path, device: str, one_proof: bool) -> None:
        _check_device(device)
        t = time.perf_counter()
        rec = progress.recorder()
        mark = len(rec.stages)
        rec.begin("load_build")

        def start(d: Path, data: bytes, weights: privacy.CommittedWeights | None) -> None:
            pk = d / artifacts.PROVING_KEY
            if not pk.exists():
                raise InputFileError(f"no proving key in {d}: run `zkml setup {d} --dev` first", pk)
            try:
                with rec.native() as handle:
                    self._native = _native.Prover(data, str(d / artifacts.CONSTANTS), str(pk), device,
                                                  weights.blob if weights is not None else None, handle, one_proof)
            except (ModelError, QuantizationError, InputShapeError) as e:
                raise _native_file_error(d, e) from None
            if one_proof:
                rec.begin("check_build")  # the layout and settings.json, while the native side reads

        # The program's layout only: proving needs no constant values in
        # Python, and the native prover hashes and checks constants.bin (and
        # weights.bin) as it decodes its own copy; hashing and validating them
        # here as well would do it twice. For one proof the native side
        # starts reading as soon as circuit.json is read (`start`), and this
        # thread builds and checks the layout meanwhile.
        def check_then_start(d: Path, data: bytes, weights: privacy.CommittedWeights | None,
                             settings: dict | None) -> None:
            if settings is not None:
                from zkml.estimate import check_memory

                check_memory("prove", settings, d)
            start(d, data, weights)

        build = _load_build(build_dir, values=False, check_settings=not one_proof,
                            on_files=check_then_start if one_proof else None)
        _owner_weights(build)  # a build without its weights.bin is refused here
        if one_proof:
            # While the native side reads the circuit and the key; the proof
            # checks the verifying key beside the proving key.
            _check_settings(build)
            rec.end()
        else:
            from zkml.estimate import check_memory

            check_memory("prove", build.settings, build.dir)
            start(build.dir, build.data, build.weights)
            _check_vk_beside_pk(build, self._native.vk)
        # Reported in the first proof's quantize_input, as zkml.prove always did.
        self._load_build = time.perf_counter() - t
        # Reported with the first proof's stages, as its timings report load_key.
        self._load_stages = rec.stages[mark:]
        # The native prover holds the constants (read from constants.bin in
        # chunks): this process never held a copy.
        self._build = build
        self._loaded: Build | None = None

    @property
    def build(self) -> Build:
        """The build proved, as `load_build` reads it (constants included): read
        again on first use, as the prover keeps only the program's layout."""
        if self._loaded is None:
            loaded = load_build(self._build.dir)
            if loaded.circuit_hash != self._build.circuit_hash:
                raise CircuitMismatchError(f"{loaded.dir} holds another circuit than this Prover proves "
                                           "(compiled again since): make a new Prover")
            self._loaded = loaded
        return self._loaded

    @property
    def device(self) -> str:
        return self._native.device

    @property
    def key_bytes(self) -> int:
        return self._native.key_bytes

    @property
    def device_bytes(self) -> int:
        return self._native.device_bytes

    def prove(self, inputs: str | Path | dict | np.ndarray | Sequence[np.ndarray], out_dir: str | Path,
              sender: str | None = None, salts: dict[str, int] | str | Path | None = None) -> ProveResult:
        """Prove one inference; see `zkml.prove`. Nothing is written on failure."""
        build = self._build
        _path(out_dir, "out_dir")
        timings: dict[str, float] = {}
        rec = progress.recorder()
        mark = len(rec.stages)
        rec.begin("quantize_input")
        t = time.perf_counter()
        floats = _float_inputs(build, inputs, sender)
        quantized = prog.quantize_inputs(build.program, floats)
        salt_values = _witness_salts(build, salts)
        warnings = calibration_warnings(build, [np.asarray(f, dtype=np.float64) for f in floats])
        timings["quantize_input"] = time.perf_counter() - t + self._load_build
        self._load_build = 0.0

        # The prover's randomness (r, s) always comes from the OS: fixed r, s
        # would let anyone who knows them recover the private parts of the witness.
        try:
            with rec.native() as handle:
                out = self._native.prove([q.reshape(-1).tolist() for q in quantized], None,
                                         [str(v) for v in salt_values], handle)
        except (ModelError, QuantizationError, InputShapeError) as error:
            # A Prover for one proof reads constants.bin and weights.bin during it.
            raise _native_file_error(build.dir, error) from None
        rec.begin("write")
        timings.update(dict(out["timings"]))
        _check_vk_beside_pk(build, out["vk"])

        # The public signals are what a verifier sees: decode the public outputs
        # from them, not from the prover's side channel, and insist the two agree
        # (and that each commitment is the one zkml.poseidon computes).
        p = build.program
        all_outputs = [np.asarray(o, dtype=np.int64).reshape(p.tensors[e.tensor].shape)
                       for e, o in zip(p.outputs, out["outputs"])]
        decoded = prog.unpack_outputs(p, out["public"])
        for e, q, native_out in zip(p.outputs, decoded, all_outputs):
            if e.visibility == "public" and not np.array_equal(q.reshape(-1), native_out.reshape(-1)):
                raise ZkmlError("internal error: public signals disagree with the witness outputs")
        if salt_values:
            privacy.check_commitments(p, quantized, all_outputs, salt_values, out["public"], build.weights)
        outputs = {e.name: prog.dequantize(p, e.tensor, q) for e, q in zip(p.outputs, all_outputs)}
        q_outputs = {e.name: q for e, q in zip(p.outputs, all_outputs)}
        shown = [e.name for e in p.outputs if e.visibility == "public"]
        proof = json.loads(out["proof"])
        proof["circuit_hash"] = build.circuit_hash
        from zkml import schemas

        output_doc = {
            "circuit_hash": build.circuit_hash,
            "outputs": {k: outputs[k].tolist() for k in shown},
            "quantized": {k: q_outputs[k].tolist() for k in shown},
        }
        commitments = {e.name: str(v) for e, v in zip(p.outputs, decoded) if e.visibility == "hashed"}
        if commitments:
            output_doc["commitments"] = commitments
        schemas.validate(schemas.OutputFile, output_doc, artifacts.OUTPUT)  # what docs/schemas promises
        with Staging(out_dir) as stage:
            stage.write_json(artifacts.PROOF, proof)
            stage.write_json(artifacts.PUBLIC, out["public"])
            stage.write_json(artifacts.OUTPUT, output_doc)
            hashed_salts = salt_values[:len(privacy.hashed_entries(p))]
            if hashed_salts or len(shown) < len(p.outputs):
                doc = privacy.private_document(p, build.circuit_hash, hashed_salts,
                                               {k: v.tolist() for k, v in outputs.items()},
                                               {k: v.tolist() for k, v in q_outputs.items()})
                stage.write_json(artifacts.PRIVATE, doc, private=True)
            else:
                stage.remove_on_commit(artifacts.PRIVATE)  # a previous proof's salts must not pass for this one's
        rec.end()
        stages, self._load_stages = self._load_stages + rec.stages[mark:], []
        return ProveResult(
            Path(out_dir),
            outputs,
            q_outputs,
            out["public"],
            timings,
            out["backend"],
            out["device"],
            warnings,
            stages,
        )


def prove(
    build_dir: str | Path,
    inputs: str | Path | dict | np.ndarray | Sequence[np.ndarray],
    out_dir: str | Path,
    device: str = "auto",
    sender: str | None = None,
    salts: dict[str, int] | str | Path | None = None,
) -> ProveResult:
    """Prove one inference. `inputs` is an input.json path, its parsed dict,
    or numpy arrays / torch tensors: one per model input in a list or tuple
    (or just the array for a one-input model). Writes proof.json, public.json
    and output.json (the dequantized outputs) to `out_dir`; the result holds
    the outputs as numpy arrays (`outputs`), each stage's time in seconds
    (`timings`), the files written (`paths`) and any `warnings`.

    `device` is "auto" (a usable NVIDIA GPU for the MSMs, else the CPU; the
    result's `device` says which and why), "cpu" or "cuda" (DeviceError when
    no GPU can be used). One proof with a `Prover` made for it: for many
    proofs with one key, make a `Prover` once.

    `sender` ("0x" + 40 hex digits) is required by, and only by, a build
    compiled with bind_sender: the address that will submit the proof to a
    settlement contract; the proof holds for that address alone.

    A build with hashed inputs or outputs (compile's `visibility`) commits to
    each under a salt: drawn fresh unless `salts` gives it (a dict keyed
    "input:NAME"/"output:NAME", or a private.json / `zkml request` salts file).
    The salts, and the outputs that are not public, go to private.json, which
    is the prover's alone; the result's `outputs` hold every output."""
    return Prover._for_one_proof(build_dir, device).prove(inputs, out_dir, sender, salts)


@dataclass
class CheckResult:
    constraints: int
    outputs: dict[str, np.ndarray]


def check(build_dir: str | Path, inputs: str | Path | dict | Sequence[np.ndarray],
          sender: str | None = None) -> CheckResult:
    """Compute the witness for `inputs` and check every constraint, without
    proving or writing anything. An unsatisfied constraint raises WitnessError
    whose `details` hold its `row` and `region` ("#k op -> 'tensor'": the
    instruction, and the tensor the ONNX node producing it wrote). A build
    that binds a sender is checked for `sender`, or the zero address."""
    build = load_build(build_dir)
    if sender is None and _sender.binds_sender(build.program):
        sender = "0x" + "00" * 20  # no instruction reads it: any address checks the same constraints
    quantized = _quantized_inputs(build, inputs, sender)
    salts = [str(v) for v in _witness_salts(build, None)]  # any salts check the same constraints
    owned = _owner_weights(build)
    weights = owned.blob if owned is not None else None
    outs, _public = _native.evaluate(build.data, build.constants, [q.reshape(-1).tolist() for q in quantized], salts,
                                     weights)
    p = build.program
    outputs = {
        e.name: prog.dequantize(p, e.tensor, np.asarray(o).reshape(p.tensors[e.tensor].shape))
        for e, o in zip(p.outputs, outs)
    }
    return CheckResult(int(build.settings.get("constraints", 0)), outputs)


# --- verify ------------------------------------------------------------------------


def verify(build_dir: str | Path, out_dir: str | Path) -> bool:
    """True if OUT/proof.json proves OUT/public.json for this build's key.

    A malformed file (a bad point, a public signal >= r, the wrong number of
    signals) or a proof labelled with another circuit raises instead. For a
    build with committed weights the proof must also be for the weights the
    build publishes (settings.json's weights commitment).
    """
    valid, public = _verify(build_dir, out_dir)
    return valid and not _other_weights(Path(build_dir), public)


def _other_weights(build_dir: Path, public: Any) -> str:
    """Why ``public`` holds another weights commitment than the build
    publishes ("" when it does not, or the weights are constants)."""
    settings = read_json(build_dir / artifacts.SETTINGS, "settings")
    published = settings.get("weights", {}).get("commitment") if isinstance(settings, dict) else None
    if published is None or not isinstance(public, list) or not public:
        return ""
    if str(public[-1]) == published:
        return ""
    return (f"the proof is for the weights with commitment {public[-1]}, not for {build_dir}'s weights "
            f"(commitment {published})")


def _verify(build_dir: str | Path, out_dir: str | Path) -> tuple[bool, Any]:
    """`verify`'s verdict and the public signals it was given."""
    d = require_dir(_path(build_dir, "build_dir"), "build directory", "run `zkml compile` first")
    out = require_dir(_path(out_dir, "out_dir"), "proof directory", "run `zkml prove` first")
    vk = read_json(d / artifacts.VERIFICATION_KEY, "verification key")
    proof = read_json(out / artifacts.PROOF, "proof")
    public = read_json(out / artifacts.PUBLIC, "public inputs")
    if not isinstance(vk, dict) or not isinstance(proof, dict):
        raise InputFileError("the verification key and the proof must be JSON objects")
    expected = vk.get("circuit_hash")
    if expected is not None:
        check_hash(proof.get("circuit_hash"), expected, f"proof {out / artifacts.PROOF}")
    return bool(_native.verify(json.dumps(vk), json.dumps(proof), json.dumps(public))), public


@dataclass
class VerifyResult:
    """What a verifier learns: whether the proof holds, and the statement it
    holds for, decoded from the public signals (not from output.json, which
    the prover could edit freely)."""

    valid: bool
    outputs: dict[str, np.ndarray]
    """Dequantized model outputs, by ONNX output name."""
    inputs: dict[str, np.ndarray]
    """Dequantized model inputs, by ONNX input name."""
    public_sha256: str
    """SHA-256 of the public signals as decimal strings joined by commas."""
    visibility: dict[str, str] = field(default_factory=dict)
    """"input:NAME" / "output:NAME" -> public, hashed or private: what the proof shows of each."""
    commitments: dict[str, int] = field(default_factory=dict)
    """"input:NAME" / "output:NAME" -> the commitment the proof holds for each hashed tensor
    ("weights": the weights commitment, for a build with committed weights)."""
    reason: str = ""
    """Why a proof whose pairing check passes is still not valid for this build."""

    def to_json(self) -> dict[str, Any]:
        return {
            **({"reason": self.reason} if self.reason else {}),
            "visibility": self.visibility,
            "commitments": {k: str(v) for k, v in self.commitments.items()},
            "valid": self.valid,
            "outputs": {k: {"shape": list(v.shape), "values": v.reshape(-1).tolist()} for k, v in self.outputs.items()},
            "inputs": {
                k: {"shape": list(v.shape), "sha256": _digest_of(v), "values": v.reshape(-1).tolist()}
                for k, v in self.inputs.items()
            },
            "public_sha256": self.public_sha256,
        }


def _digest_of(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype="<f8").tobytes()).hexdigest()


def verify_statement(build_dir: str | Path, out_dir: str | Path) -> VerifyResult:
    """`verify`, plus the model inputs and outputs the proof is about, decoded
    from OUT/public.json with BUILD's circuit."""
    valid, public = _verify(build_dir, out_dir)
    build = load_build(build_dir)
    if not isinstance(public, list):
        raise InputFileError("public.json must be a JSON list of decimal strings")
    q_inputs, q_outputs = prog.unpack_public(build.program, public)
    p = build.program
    inputs = {e.name: prog.dequantize(p, e.tensor, q) for e, q in zip(p.inputs, q_inputs) if e.visibility == "public"}
    outputs = {e.name: prog.dequantize(p, e.tensor, q) for e, q in zip(p.outputs, q_outputs)
               if e.visibility == "public"}
    named = [(f"input:{e.name}", e, q) for e, q in zip(p.inputs, q_inputs)]
    named += [(f"output:{e.name}", e, q) for e, q in zip(p.outputs, q_outputs)]
    reason = ""
    visibility = {k: e.visibility for k, e, _ in named}
    commitments = {k: int(q) for k, e, q in named if e.visibility == "hashed"}
    if p.weight_bits is not None:
        # The proof holds for the weights whose commitment is its last signal:
        # valid for this build only if that is the commitment it publishes.
        commitments["weights"] = int(public[-1])
        reason = _other_weights(build.dir, public)
        valid = valid and not reason
    digest = hashlib.sha256(",".join(str(v) for v in public).encode()).hexdigest()
    return VerifyResult(valid, outputs, inputs, digest, visibility, commitments, reason)


# --- Solidity ----------------------------------------------------------------------


def export_verifier(build_dir: str | Path, output: str | Path) -> Path:
    """Write a Solidity verifier with this build's verifying key embedded."""
    from zkml.evm import write_verifier

    d = require_dir(_path(build_dir, "build_dir"), "build directory", "run `zkml compile` and `zkml setup` first")
    vk = read_json(d / artifacts.VERIFICATION_KEY, "verification key")
    output = _path(output, "output")
    write_verifier(vk, output)
    return output


def summary_of(settings: dict[str, Any]) -> str:
    return (
        f"{settings['constraints']:,} constraints, {settings['variables']:,} variables, "
        f"{settings['public_inputs']} public inputs (QAP domain 2^{int(settings['qap_domain_size']).bit_length() - 1})"
    )
