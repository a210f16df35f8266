"""The `zkml` command line: a thin layer over `zkml.api`.

Exit status: 0 success; 1 `verify` found the proof invalid; 2 any error (one
line on stderr, no partial files left behind).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

import click
import numpy as np

from zkml import __version__
from zkml.errors import UnsupportedOpError, ZkmlError

EXIT_INVALID = 1
EXIT_ERROR = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _echo_json(doc) -> None:
    from zkml.artifacts import json_text

    click.echo(json_text(doc))  # json.dumps(doc, indent=2), fast on big outputs


def _quiet_option(fn):
    return click.option("-q", "--quiet", is_flag=True,
                        help="No progress bar. Without it, work that runs over about 2 s shows its stages on "
                        "stderr when stdout and stderr are a terminal (never with --json).")(fn)


def _stages_json(stages: list) -> list:
    """Each stage's name, seconds and the process's peak RSS (bytes) at its end."""
    return [s.to_json() for s in stages]


def _outputs_json(outputs: dict) -> dict:
    return {name: {"shape": list(np.shape(v)), "values": np.asarray(v).reshape(-1).tolist()}
            for name, v in outputs.items()}


def _warn(warnings: list) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _echo_outputs(outputs: dict) -> None:
    """Each model output on one line, and its argmax when it has several values."""
    for name, value in outputs.items():
        flat = np.asarray(value).reshape(-1)
        shown = np.array2string(flat, precision=4, separator=", ", max_line_width=10_000)
        click.echo(f"output {name} {list(np.shape(value))}: {shown}")
        if flat.size > 1:
            click.echo(f"  argmax: {int(np.argmax(flat))}")


def handle_errors(fn):
    """Turn every error into one line on stderr and exit status 2.
    Set ZKML_DEBUG=1 to see the traceback of an unexpected one."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UnsupportedOpError as e:
            _fail(str(e))  # one line per unsupported node, all of them at once
        except ZkmlError as e:
            _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
        except KeyboardInterrupt:
            _fail("interrupted")
        except BrokenPipeError:
            _quiet_broken_pipe()  # the reader of stdout went away; the work is done
        except Exception as e:  # a bug: still one line, traceback on request
            if os.environ.get("ZKML_DEBUG"):
                raise
            _fail(f"internal error ({type(e).__name__}): {e} (set ZKML_DEBUG=1 for a traceback)")

    return wrapper


# click's own usage errors (a missing argument, an unknown option) exit 2 too.
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="zkml")
def main() -> None:
    """Prove that an ONNX model ran correctly, and check it natively or on-chain.

    \b
    The path of one model:
      zkml ops                     (what compiles)
      zkml estimate model.onnx     (what it will cost, before any setup)
      zkml compile model.onnx -o build --calibration calibration.json
      zkml setup build --dev       (production: --ptau FILE, then zkml ceremony ...)
      zkml prove build input.json -o out
      zkml verify build out
      zkml export-verifier build -o Verifier.sol   (+ Verifier.abi.json, Verifier.bin)
      zkml deploy build --rpc-url URL             (key: $ZKML_PRIVATE_KEY or --keystore)
      zkml verify build out --onchain --rpc-url URL --address ADDR
    Paying for an inference on-chain (compile with --bind-sender):
      zkml deploy-settlement --rpc-url URL
      zkml request build input.json --rpc-url URL --settlement ADDR --verifier ADDR --payment WEI
      zkml prove build input.json -o out --sender PROVER_ADDR
      zkml fulfil build out --rpc-url URL --settlement ADDR --request ID
    Keeping what is yours private (docs/privacy.md):
      zkml compile model.onnx -o build --visibility input=hashed   (or =private; output=, NAME=)
      zkml compile model.onnx -o build --weights committed         (a retrain keeps the keys)
      zkml prove build input.json -o out    (+ out/private.json: salts, never for a verifier)
    Or all of it on the bundled digits model, on-chain check included:
      zkml demo

    Proofs are Groth16 over BN254 in snarkjs's JSON format, keys interchangeable
    with snarkjs's .zkey. `prove` runs everything after the witness on an NVIDIA
    GPU when one works (--device auto|cpu|cuda).
    """


@main.command("ops")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (warnings still go to stderr).")
@handle_errors
def ops_cmd(as_json: bool) -> None:
    """List the ONNX ops zkml compiles: op versions, the circuit instructions
    each lowers to, and the constraints per output element.

    Nodes whose inputs are all constants (Constant, ConstantOfShape, Range,
    Shape arithmetic, ...) are folded before lowering, whatever their op.
    """
    from zkml.ops import supported_ops

    entries = supported_ops()
    if as_json:
        _echo_json([{"op_type": e.op_type, "first_version": e.first_version, "last_version": e.last_version,
                     "instructions": list(e.kinds), "constraints_per_output_element": e.cost} for e in entries])
        return
    width = max(len(e.op_type) for e in entries)
    click.echo(f"{'op':<{width}}  versions  instructions     constraints per output element")
    for e in entries:
        versions = f"{e.first_version}..{e.last_version}"
        kinds = ", ".join(e.kinds) or "-"
        click.echo(f"{e.op_type:<{width}}  {versions:<8}  {kinds:<15}  {e.cost}")
    click.echo(f"{len(entries)} op types; constant subgraphs of any op are folded at compile time")


@main.command("estimate")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calibration", type=click.Path(path_type=Path), help="Sample inputs, as for compile.")
@click.option("--bits", default=16, show_default=True, type=int, help="Signed bit width of every quantized value.")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="NAME=D0,D1,...",
              help="Static shape of an input whose dimensions the model leaves open (repeatable).")
@click.option("--weights", type=click.Choice(["constant", "committed"]), default="constant", show_default=True,
              help="As for compile: the cost of committed (private) weights.")
@click.option("--visibility", multiple=True, metavar="KEY=MODE", help="As for compile (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@handle_errors
def estimate_cmd(model: Path, calibration: Path | None, bits: int, input_shapes: tuple, weights: str,
                 visibility: tuple, as_json: bool) -> None:
    """What proving MODEL.onnx will cost, before any setup, in seconds:
    constraints, variables, public inputs, proving-key size, peak memory and
    proving time on this machine, and the on-chain verification gas. Writes
    nothing.

    \b
    Example:
      zkml estimate circuits/digits_cnn/model.onnx --calibration circuits/digits_cnn/calibration.json
      zkml estimate model.onnx --weights committed --visibility input=hashed
    """
    import json as _json

    from zkml import privacy
    from zkml.estimate import estimate

    e = estimate(model, calibration, bits, _parse_shapes(input_shapes), weights, privacy.parse_cli(visibility))
    if as_json:
        click.echo(_json.dumps(e.to_json(), indent=2))
        return
    click.echo(f"{model}: {e.constraints:,} constraints, {e.variables:,} variables, "
               f"{e.public_inputs} public inputs (QAP domain 2^{e.qap_domain_size.bit_length() - 1})")
    click.echo(f"  proving key        {e.proving_key_bytes / 2**20:,.1f} MiB")
    click.echo(f"  proving time       {e.prove_seconds:.2f} s on this machine's CPU (predicted)")
    click.echo(f"  peak memory        {e.peak_memory_bytes / 2**20:,.0f} MiB (predicted)")
    click.echo(f"  verification gas   {e.verify_gas:,} (one verifyProof transaction)")
    click.echo(f"  (estimated in {e.seconds:.1f} s)")


def _parse_shapes(input_shapes: tuple) -> dict | None:
    shapes = {}
    for spec in input_shapes:
        name, _, dims = spec.partition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.split(","))
        except ValueError:
            _fail(f"--input-shape {spec!r}: expected NAME=D0,D1,... with integer dimensions")
        if not name or not dims:
            _fail(f"--input-shape {spec!r}: expected NAME=D0,D1,...")
    return shapes or None


@main.command("compile")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", "build", required=True, type=click.Path(path_type=Path), help="Build directory to write.")
@click.option(
    "--calibration",
    type=click.Path(path_type=Path),
    help="Sample inputs (input.json shape; each input may hold several samples) used to choose the scales.",
)
@click.option("--bits", default=16, show_default=True, type=int, help="Signed bit width of every quantized value.")
@click.option(
    "--input-shape",
    "input_shapes",
    multiple=True,
    metavar="NAME=D0,D1,...",
    help="Static shape of an input whose dimensions the model leaves open (repeatable).",
)
@click.option("--bind-sender", is_flag=True,
              help="Add one public input, the address that submits the proof to a settlement contract "
              "(prove --sender ADDR); a proof then holds for that address alone.")
@click.option("--weights", "weights", type=click.Choice(["constant", "committed"]), default="constant",
              show_default=True,
              help="committed: the linear/affine weights and biases become private values bound by one public "
              "commitment (BUILD/weights.bin and weights.json are the model owner's), so the keys depend on "
              "the architecture only and a retrained model compiled into the same BUILD keeps them.")
@click.option("--visibility", "visibility", multiple=True, metavar="KEY=MODE",
              help="What a verifier sees (repeatable): KEY is input (every input), output (every output) or "
              "an input's or output's name; MODE is public (the values; default), hashed (a salted Poseidon "
              "commitment; the values stay private) or private (nothing).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON on stdout (warnings still go to stderr), with each stage's "
              "seconds and peak RSS.")
@_quiet_option
@handle_errors
def compile_cmd(model: Path, build: Path, calibration: Path | None, bits: int, input_shapes: tuple,
                bind_sender: bool, weights: str, visibility: tuple, as_json: bool, quiet: bool) -> None:
    """Quantize MODEL.onnx into an arithmetic circuit.

    Writes BUILD/circuit.json (the quantized program; its SHA-256 is the
    circuit hash), BUILD/constants.bin (weights and index tables, covered by
    that hash) and BUILD/settings.json (constraints, variables, public inputs,
    scales, error bounds). Every unsupported node is reported at once; `zkml
    ops` lists what is supported.

    \b
    Example:
      zkml compile circuits/digits_mlp/model.onnx -o build \\
          --calibration circuits/digits_mlp/calibration.json
      zkml compile model.onnx -o build --visibility input=hashed --visibility output=public
      zkml compile retrained.onnx -o build --weights committed   # same keys
    """
    from zkml import api, privacy, progress

    with progress.shown("compile", enabled=not (quiet or as_json)):
        result = api.compile(model, build, calibration=calibration, bits=bits,
                             input_shapes=_parse_shapes(input_shapes), bind_sender=bind_sender,
                             visibility=privacy.parse_cli(visibility), weights=weights)
    s = result.settings
    _warn(result.warnings)
    if as_json:
        quant = s["quantization"]
        _echo_json({
            "build_dir": str(build),
            "settings": str(build / "settings.json"),
            **{k: s[k] for k in ("circuit_hash", "constraints", "variables", "public_inputs", "qap_domain_size")},
            "inputs": s["inputs"],
            "outputs": s["outputs"],
            "public_signals": s["public_signals"],
            "error_bound": {k: v["error_bound"] for k, v in quant["outputs"].items()},
            "measured_error_vs_onnxruntime": quant.get("measured_error_vs_onnxruntime"),
            "calibration_assumed": quant["calibration"]["assumed"],
            "ranges_not_certified": [t["name"] for t in quant["tensors"] if not t["range_certified"]],
            "sender": s.get("sender"),
            "weights": s.get("weights"),
            "warnings": result.warnings,
            "stages": _stages_json(result.stages),
        })
        return
    click.echo(f"compiled {model} -> {build}/")
    click.echo(f"  circuit {s['circuit_hash'][:16]}…: {api.summary_of(s)}")
    for io in s["inputs"]:
        click.echo(f"  input  {io['name']} {io['shape']}: {io['bits']}-bit, scale 2^-{io['scale']}, {io['visibility']}")
    for io in s["outputs"]:
        click.echo(f"  output {io['name']} {io['shape']}: {io['bits']}-bit, scale 2^-{io['scale']}, {io['visibility']}")
    if s.get("weights"):
        click.echo(f"  weights: committed ({s['weights']['values']:,} values), commitment {s['weights']['commitment']} "
                   f"in public signal {s['weights']['signal']}; {build}/weights.bin and weights.json are yours alone")
    if s.get("sender"):
        click.echo(f"  sender: public signal {s['sender']['signal']} holds the address that submits the proof "
                   f"(input {s['sender']['input']}; prove with --sender ADDR)")
    measured = s["quantization"].get("measured_error_vs_onnxruntime")
    if measured:
        errs = ", ".join(f"{k} {v:.3g}" for k, v in measured["max_abs_error"].items())
        click.echo(f"  max |error| vs onnxruntime over {measured['samples']} calibration samples: {errs}")
    quant = s["quantization"]
    bounds = ", ".join(
        f"{k} {v['error_bound']:.3g}" if v["error_bound"] is not None else f"{k} none (see settings.json notes)"
        for k, v in quant["outputs"].items()
    )
    click.echo(f"  certified max |error| for inputs in the calibration box: {bounds}")


@main.command("setup")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("--dev", is_flag=True, help="Local development setup: randomness made here and discarded. Not for production.")
@click.option("--ptau", type=click.Path(path_type=Path),
              help="Start a phase-2 ceremony from this prepared powers-of-tau file (snarkjs .ptau).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON on stdout (warnings still go to stderr), with each stage's "
              "seconds and peak RSS.")
@_quiet_option
@handle_errors
def setup_cmd(build: Path, dev: bool, ptau: Path | None, as_json: bool, quiet: bool) -> None:
    """Make the Groth16 proving and verification keys for BUILD.

    Writes BUILD/proving_key.bin and BUILD/verification_key.json (snarkjs
    format). Two kinds:

    \b
    --ptau FILE  production: phase 1 from a public powers-of-tau ceremony
                 (snarkjs .ptau, prepared for phase 2), the start of a
                 phase-2 ceremony; add contributions with
                 `zkml ceremony contribute`, close with `zkml ceremony beacon`,
                 check with `zkml ceremony verify`.
    --dev        development: randomness made on this machine and discarded;
                 not for production.

    A --dev setup whose constraint matrices and key cannot fit this machine's
    memory (RAM and swap) is refused before it starts (exit 2);
    ZKML_SKIP_MEMORY_CHECK=1 tries anyway.

    \b
    Examples:
      zkml setup build --ptau powersOfTau28_hez_final_16.ptau
      zkml setup build --dev
    """
    from zkml import api, progress

    if dev and ptau is not None:
        raise click.UsageError("choose one of --dev and --ptau")
    if ptau is not None:
        from zkml import ceremony

        started = time.perf_counter()
        with progress.shown("setup --ptau", enabled=not (quiet or as_json)) as rec:
            phase2 = ceremony.setup_from_ptau(build, ptau)
        seconds = time.perf_counter() - started
        note = ("phase 2 has no contribution yet: add at least one with `zkml ceremony contribute` "
                "before using this key")
        if as_json:
            click.echo(f"warning: {note}", err=True)
            _echo_json({"proving_key": str(Path(build) / "proving_key.bin"),
                        "verification_key": str(Path(build) / "verification_key.json"),
                        "seconds": round(seconds, 3), "setup": "ceremony", "zkey_sha256": phase2.zkey_sha256,
                        "contributions": phase2.contributions, "note": note, "stages": _stages_json(rec.stages)})
            return
        click.echo(f"phase 2 started from {ptau} in {seconds:.2f} s: wrote {Path(build) / 'proving_key.bin'}, "
                   f"{Path(build) / 'verification_key.json'} and {Path(build) / 'circuit.zkey'}")
        click.echo(f"WARNING: {note}")
        return
    with progress.shown("setup", enabled=not (quiet or as_json)):
        result = api.setup(build, dev=dev)
    if as_json:
        click.echo(f"warning: {result.note}", err=True)
        _echo_json({"proving_key": str(result.proving_key), "verification_key": str(result.verification_key),
                    "seconds": round(result.seconds, 3), "setup": "local-dev", "note": result.note,
                    "stages": _stages_json(result.stages)})
        return
    click.echo(f"wrote {result.proving_key} and {result.verification_key} in {result.seconds:.2f} s")
    click.echo(f"WARNING: {result.note}")


@main.group("ceremony")
def ceremony_group() -> None:
    """Phase-2 ceremony on a build started with `zkml setup BUILD --ptau FILE`.

    Each contribution is compatible with snarkjs's: a key can go through
    `zkml export-zkey`, `snarkjs zkey contribute` and `zkml import-zkey`
    between two zkml contributions.
    """


def _contributions_text(contributions: list) -> str:
    if not contributions:
        return "no contributions"
    return "; ".join(f"{i + 1}. {c['name'] or '(unnamed)'} ({c['kind']})" for i, c in enumerate(contributions))


@ceremony_group.command("contribute")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Your name, recorded in the transcript (at most 64 characters).")
@click.option("--typed-entropy", is_flag=True,
              help="Also ask for text typed at the terminal, mixed into the OS randomness.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def ceremony_contribute_cmd(build: Path, name: str, typed_entropy: bool, as_json: bool) -> None:
    """Add a phase-2 contribution to BUILD's key (randomness from the OS)."""
    from zkml import ceremony

    entropy = click.prompt("random text", hide_input=True, default="", show_default=False) if typed_entropy else ""
    result = ceremony.contribute(build, name, entropy)
    if as_json:
        _echo_json({"contributions": result.contributions, "zkey_sha256": result.zkey_sha256})
        return
    click.echo(f"contributed as {name!r}: {_contributions_text(result.contributions)}")


@ceremony_group.command("beacon")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("beacon_hash", metavar="HASH")
@click.argument("iterations", metavar="ITERATIONS", type=int)
@click.option("--name", default="final beacon", show_default=True, help="Name recorded in the transcript.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def ceremony_beacon_cmd(build: Path, beacon_hash: str, iterations: int, name: str, as_json: bool) -> None:
    """Close the ceremony with a public random beacon (HASH in hex, 2^ITERATIONS hash iterations)."""
    from zkml import ceremony

    result = ceremony.beacon(build, beacon_hash, iterations, name)
    if as_json:
        _echo_json({"contributions": result.contributions, "zkey_sha256": result.zkey_sha256})
        return
    click.echo(f"beacon applied: {_contributions_text(result.contributions)}")


@ceremony_group.command("verify")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("--ptau", required=True, type=click.Path(path_type=Path), help="The powers-of-tau file phase 2 started from.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def ceremony_verify_cmd(build: Path, ptau: Path, as_json: bool) -> None:
    """Check BUILD's proving key against its own circuit (weights included) and the ptau.

    snarkjs recomputes the initial key from BUILD's constraint system and the
    ptau, checks every contribution and the transcript's hash chain, and
    compares the result with the points zkml proves with. Exit 0 when the key
    is this circuit's, 1 when not (a key for another model, a dev key, a
    broken chain), saying where.
    """
    from zkml import ceremony

    report = ceremony.verify_ceremony(build, ptau)
    if as_json:
        _echo_json({"ok": report.ok, "message": report.message, "contributions": report.contributions})
    else:
        click.echo(("OK: " if report.ok else "NOT OK: ") + report.message)
        for i, c in enumerate(report.contributions):
            click.echo(f"  {i + 1}. {c['name'] or '(unnamed)'} ({c['kind']})")
    if not report.ok:
        sys.exit(1)


@main.command("export-r1cs")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The .r1cs file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def export_r1cs_cmd(build: Path, output: Path, as_json: bool) -> None:
    """Write BUILD's constraint system as an iden3 .r1cs file (snarkjs, circom tools)."""
    from zkml import ceremony

    path = ceremony.export_r1cs(build, output)
    if as_json:
        _echo_json({"r1cs": str(path)})
        return
    click.echo(f"wrote {path}")


@main.command("witness")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("input_json", metavar="INPUT.json", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The .wtns file to write.")
@click.option("--sender", default=None, help="The prover's address, for a build compiled with --bind-sender.")
@click.option("--salts", type=click.Path(path_type=Path), metavar="FILE",
              help="For a build with hashed inputs or outputs: their salts (a private.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def witness_cmd(build: Path, input_json: Path, output: Path, sender: str | None, salts: Path | None,
                as_json: bool) -> None:
    """Write the witness of INPUT.json (checked) as an iden3 .wtns file (snarkjs groth16 prove)."""
    from zkml import ceremony

    public = ceremony.export_witness(build, input_json, output, sender, salts)
    if as_json:
        _echo_json({"wtns": str(output), "public": public})
        return
    click.echo(f"wrote {output} ({len(public)} public signals)")


@main.command("export-zkey")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The .zkey file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def export_zkey_cmd(build: Path, output: Path, as_json: bool) -> None:
    """Write BUILD's proving key as a snarkjs .zkey (with its ceremony transcript, if any)."""
    from zkml import ceremony

    path = ceremony.export_zkey(build, output)
    if as_json:
        _echo_json({"zkey": str(path)})
        return
    click.echo(f"wrote {path}")


@main.command("import-zkey")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("zkey", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@handle_errors
def import_zkey_cmd(build: Path, zkey: Path, as_json: bool) -> None:
    """Make a snarkjs .zkey made for BUILD's circuit (e.g. after `snarkjs zkey contribute`) BUILD's keys."""
    from zkml import ceremony

    result = ceremony.import_zkey(build, zkey)
    if as_json:
        _echo_json({"contributions": result.contributions, "zkey_sha256": result.zkey_sha256})
        return
    click.echo(f"imported {zkey}: {_contributions_text(result.contributions)}")


@main.command("prove")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("input_json", metavar="INPUT.json", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), help="Directory for the proof (not with --check).")
@click.option(
    "--check",
    is_flag=True,
    help="Only compute the witness and check every constraint; prove nothing, write nothing. "
    "A failing constraint is named with its instruction and the tensor (ONNX node output) it belongs to.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where the MSMs run: auto uses an NVIDIA GPU when one works (and says which), "
    "cuda insists on one (exit 2 without), cpu never uses one.",
)
@click.option("--sender", metavar="ADDR",
              help="For a build compiled with --bind-sender: the address that will submit the proof "
              "(zkml fulfil's account); the proof holds for it alone.")
@click.option("--salts", "salts", type=click.Path(path_type=Path), metavar="FILE",
              help="For a build with hashed inputs or outputs: their salts (a private.json, or the file "
              "`zkml request` wrote); without it each salt is drawn fresh.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON on stdout (warnings still go to stderr), with each stage's "
              "seconds and peak RSS.")
@_quiet_option
@handle_errors
def prove_cmd(build: Path, input_json: Path, out: Path | None, check: bool, device: str, sender: str | None,
              salts: Path | None, as_json: bool, quiet: bool) -> None:
    """Prove one inference of BUILD's model on INPUT.json.

    INPUT.json is ezkl's shape {"input_data": [[...flattened...]]} or
    {"<onnx input name>": [...]}. Writes OUT/proof.json and OUT/public.json
    (snarkjs format) and OUT/output.json; prints the model's outputs, the
    device that proved (and why it was chosen) and the time of each stage.
    For a build with hashed or private inputs/outputs it also writes
    OUT/private.json (owner-only): the salts and the outputs a verifier does
    not see. Never hand it to a verifier. A proof whose key and QAP vectors
    cannot fit this machine's memory is refused before it starts (exit 2;
    ZKML_SKIP_MEMORY_CHECK=1 tries anyway).

    \b
    Example:
      zkml prove build circuits/digits_mlp/input.json -o out
      zkml prove build circuits/digits_mlp/input.json -o out --device cuda
      zkml prove build circuits/digits_mlp/input.json --check
    """
    from zkml import api, progress
    from zkml.errors import WitnessError

    if check:
        try:
            checked = api.check(build, input_json, sender=sender)
        except WitnessError as e:
            region = e.details.get("region", "")
            tensor = region.split("-> ", 1)[1] if "-> " in region else ""
            where = f"; it belongs to {region}" if region else ""
            node = f", i.e. the ONNX node that produces tensor {tensor}" if tensor else ""
            raise WitnessError(f"constraint {e.details.get('row', '?')} is not satisfied{where}{node}",
                               details=e.details) from None
        if as_json:
            _echo_json({"satisfied": True, "constraints": checked.constraints,
                        "outputs": _outputs_json(checked.outputs)})
            return
        click.echo(f"witness satisfies all {checked.constraints:,} constraints")
        _echo_outputs(checked.outputs)
        return
    if out is None:
        _fail("missing option -o/--output (the directory for the proof), or use --check")
    with progress.shown("prove", enabled=not (quiet or as_json)):
        result = api.prove(build, input_json, out, device=device, sender=sender, salts=salts)
    _warn(result.warnings)
    if as_json:
        _echo_json({"out_dir": str(out), "files": {k: str(v) for k, v in result.paths.items()},
                    "outputs": _outputs_json(result.outputs), "public_signals": len(result.public),
                    "device": result.device, "backend": result.backend,
                    "timings": {k: round(v, 6) for k, v in result.timings.items()}, "warnings": result.warnings,
                    "stages": _stages_json(result.stages)})
        return
    _echo_outputs(result.outputs)
    click.echo(f"wrote {out}/proof.json and {out}/public.json ({len(result.public)} public signals)")
    if (out / "private.json").exists():
        click.echo(f"wrote {out}/private.json: salts and hidden outputs, for you alone (never send it to a verifier)")
    stages = " · ".join(f"{k} {v:.3f} s" for k, v in result.timings.items())
    click.echo(f"device: {result.device}")
    click.echo(f"timings ({result.backend}): {stages}")


def _setup_kind(build: Path) -> str | None:
    import json

    try:
        record = json.loads((Path(build) / "verification_key.json").read_text()).get("zkml_setup", {})
    except (OSError, ValueError, AttributeError):
        return None
    return record.get("kind") if isinstance(record, dict) else None


@main.command("verify")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the verdict and the decoded statement as JSON.")
@click.option("--onchain", is_flag=True, help="Ask the verifier deployed at --address (through --rpc-url) instead.")
@click.option("--rpc-url", metavar="URL", help="JSON-RPC endpoint of the chain (with --onchain).")
@click.option("--address", metavar="ADDR", help="Address of the deployed verifier (with --onchain).")
@handle_errors
def verify_cmd(build: Path, out: Path, as_json: bool, onchain: bool, rpc_url: str | None, address: str | None) -> None:
    """Check OUT/proof.json against OUT/public.json with BUILD's verification key.

    Prints "valid" and exits 0, or prints "invalid" and exits 1. A malformed
    file exits 2. Then prints what was proven, decoded from OUT/public.json
    (OUT/output.json is not read: the prover could edit it): the model's
    outputs, and each input's shape and SHA-256.

    With --onchain, the verifier contract at ADDR answers instead (eth_call),
    and the gas of a verifyProof transaction (eth_estimateGas) is printed.

    \b
    Example:
      zkml verify build out
      zkml verify build out --json
      zkml verify build out --onchain --rpc-url http://127.0.0.1:8545 --address 0x5FbD...
    """
    import json

    from zkml import api

    if onchain or rpc_url or address:
        if not (onchain and rpc_url and address):
            _fail("--onchain needs --rpc-url URL and --address ADDR (and they need --onchain)")
        from zkml import onchain as chain

        verdict = chain.verify_onchain(build, out, rpc_url, address)
        # The contract checks the proof for the weights commitment it is given;
        # this build publishes one, and a proof under other weights is not its.
        reason = api._other_weights(build, api.read_json(out / "public.json", "public inputs"))
        valid = verdict.valid and not reason
        if as_json:
            click.echo(json.dumps({"valid": valid, "gas": verdict.gas, "chain_id": verdict.chain_id,
                                   "address": address, **({"reason": reason} if reason else {})}))
        else:
            click.echo("valid" if valid else "invalid")
            if reason:
                click.echo(f"  {reason}", err=True)
            click.echo(f"on-chain verifier {address} (chain {verdict.chain_id}): verifyProof gas {verdict.gas:,} "
                       "(eth_estimateGas, whole transaction)")
        if not valid:
            sys.exit(EXIT_INVALID)
        return
    result = api.verify_statement(build, out)
    kind = _setup_kind(build)
    if kind in ("local-dev", "seeded-test-only"):
        click.echo(f"warning: {build}'s keys come from a {kind} setup: whoever ran it could forge this proof; "
                   "use a ceremony key (`zkml setup --ptau`) in production", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        click.echo("valid" if result.valid else "invalid")
        if result.reason:
            click.echo(f"  {result.reason}", err=True)
        _echo_outputs(result.outputs)
        for name, data in result.to_json()["inputs"].items():
            click.echo(f"input {name} {data['shape']}: sha256 {data['sha256']}")
        for name, value in result.commitments.items():
            click.echo(f"{name.replace(':', ' ', 1)}: hashed, commitment {value}")
        for name, mode in result.visibility.items():
            if mode == "private":
                click.echo(f"{name.replace(':', ' ', 1)}: private (not in the public signals)")
        click.echo(f"public signals sha256 {result.public_sha256}")
    if not result.valid:
        sys.exit(EXIT_INVALID)


@main.command("export-verifier")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Solidity file to write.")
@click.option("--name", default="Groth16Verifier", show_default=True, help="Name of the Solidity contract.")
@click.option("--source-only", is_flag=True, help="Write the Solidity file alone (no node/solc needed).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (warnings still go to stderr).")
@handle_errors
def export_verifier_cmd(build: Path, output: Path, name: str, source_only: bool, as_json: bool) -> None:
    """Write a Solidity Groth16 verifier with BUILD's verification key embedded,
    and beside it its ABI (<stem>.abi.json) and creation bytecode (<stem>.bin,
    hex), compiled with solc (the pinned npm package in contracts/, else
    $ZKML_SOLC, else solc or solcjs on PATH).

    The contract has verifyProof(uint256[8] proof, uint256[N] input) and the
    snarkjs-style overload verifyProof(uint[2], uint[2][2], uint[2], uint[N]).
    Prints the deployed size (EIP-170 allows 24,576 bytes) and the gas of one
    verification, measured in an in-process EVM, and for each model output
    the arguments with which contracts/ZkmlOutputs.sol reads it from the
    public inputs (first signal, values, bit width) and its scale.

    \b
    Example:
      zkml export-verifier build -o Verifier.sol
      zkml export-verifier build -o contracts/DigitsVerifier.sol --name DigitsVerifier
    """
    from zkml import onchain

    export = onchain.export_contract(build, output, name, source_only=source_only)
    cost = export.cost
    if as_json:
        _echo_json({
            "contract": export.contract_name,
            "files": {"source": str(export.source),
                      **({} if cost is None else {"abi": str(export.abi), "bytecode": str(export.bytecode)})},
            "deployed_bytes": None if cost is None else cost.deployed_bytes,
            "verify_gas": None if cost is None else {"execution": cost.execution_gas,
                                                     "max_transaction": cost.max_transaction_gas},
            "public_inputs": None if cost is None else cost.n_public,
            "outputs": [{"name": o.name, "shape": list(o.shape), "first_signal": o.first_signal, "count": o.count,
                         "bits": o.bits, "scale": o.scale} for o in onchain.output_layout(build)],
        })
        return
    if cost is None:
        click.echo(f"wrote {export.source} (contract {export.contract_name})")
    else:
        click.echo(f"wrote {export.source}, {export.abi} and {export.bytecode} (contract {export.contract_name})")
        click.echo(f"  deployed size  {cost.deployed_bytes:,} bytes (EIP-170 limit 24,576)")
        click.echo(f"  verifyProof    {cost.execution_gas:,} gas execution, at most {cost.max_transaction_gas:,} "
                   f"gas as a transaction ({cost.n_public} public inputs, {cost.calldata_bytes:,} bytes of calldata)")
    for o in onchain.output_layout(build):
        click.echo(f"  output {o.name} {list(o.shape)}: ZkmlOutputs.unpack(input, {o.first_signal}, {o.count}, "
                   f"{o.bits}) * 2^-{o.scale}")


@main.command("calldata")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (warnings still go to stderr).")
@handle_errors
def calldata_cmd(out: Path, as_json: bool) -> None:
    """Print the hex calldata of verifyProof(uint256[8], uint256[N]) for
    OUT/proof.json and OUT/public.json, for wallets, `cast send` or scripts.

    \b
    Example:
      zkml calldata out
      cast call $VERIFIER "$(zkml calldata out)"
    """
    from zkml import onchain

    data = "0x" + onchain.calldata(out).hex()
    if as_json:
        _echo_json({"calldata": data, "bytes": (len(data) - 2) // 2})
        return
    click.echo(data)


@main.command("deploy")
@click.argument("build", type=click.Path(path_type=Path))
@click.option("--rpc-url", required=True, metavar="URL", help="JSON-RPC endpoint of the chain.")
@click.option("--keystore", type=click.Path(path_type=Path), help="Encrypted JSON keystore of the deployer; "
              "the password is asked for. Without it the key comes from $ZKML_PRIVATE_KEY.")
@click.option("--name", default="Groth16Verifier", show_default=True, help="Name of the Solidity contract.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (warnings still go to stderr).")
@handle_errors
def deploy_cmd(build: Path, rpc_url: str, keystore: Path | None, name: str, as_json: bool) -> None:
    """Compile BUILD's verifier and deploy it; print its address.

    The transaction is signed here with the key in $ZKML_PRIVATE_KEY or in
    --keystore FILE (password prompted); there is deliberately no option
    that takes a key, so none lands in the shell's history.

    \b
    Example:
      ZKML_PRIVATE_KEY=0x... zkml deploy build --rpc-url http://127.0.0.1:8545
      zkml deploy build --rpc-url https://rpc.example --keystore deployer.json
    """
    from zkml import onchain

    password = (lambda: click.prompt(f"password for {keystore}", hide_input=True, err=True)) if keystore else None
    account = onchain.load_account(keystore, password)
    deployed = onchain.deploy_verifier(build, rpc_url, account, name)
    if as_json:
        _echo_json({"address": deployed.address, "contract": name, "chain_id": deployed.chain_id,
                    "deployer": deployed.deployer, "tx_hash": "0x" + deployed.tx_hash.removeprefix("0x"),
                    "gas_used": deployed.gas_used})
        return
    click.echo(deployed.address)
    click.echo(f"  {name} deployed on chain {deployed.chain_id} by {deployed.deployer} in transaction "
               f"0x{deployed.tx_hash.removeprefix('0x')} ({deployed.gas_used:,} gas)", err=True)


@main.command("demo")
@click.option(
    "--workdir",
    default=Path("build/demo"),
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the demo writes its build and proof.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout (the progress goes to stderr).")
@handle_errors
def demo_cmd(workdir: Path, as_json: bool) -> None:
    """Run the whole path on the bundled digits model, on-chain check included.

    compile -> setup (dev) -> prove -> verify -> export the Solidity verifier
    -> compile it with solc -> deploy it in an in-process EVM -> verifyProof.

    \b
    Example:
      zkml demo
    """
    from zkml.demo import run_demo

    if as_json:
        import dataclasses

        result = run_demo(workdir, echo=lambda line: click.echo(line, err=True))
        _echo_json({**dataclasses.asdict(result), "workdir": str(workdir)})
        return
    run_demo(workdir, echo=click.echo)


# The settlement commands live in their own module, which imports this one.
from zkml.cli_settlement import COMMANDS as _SETTLEMENT_COMMANDS  # noqa: E402

for _command in _SETTLEMENT_COMMANDS:
    main.add_command(_command)


def run() -> None:
    """The `zkml` console script: `main` with the CLI's promises kept for
    what click and the OS do around it: no arguments prints the help and exits
    0, a usage error is one line `error: ...` with exit 2, and a closed stdout
    (`zkml prove ... | head -1`) ends quietly once the work is done."""
    args = sys.argv[1:]
    if not args:
        click.echo(main.get_help(click.Context(main, info_name="zkml")))
        sys.exit(0)
    try:
        main.main(args=args, prog_name="zkml", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("interrupted")
    except click.UsageError as e:
        message = (e.format_message().splitlines() or ["usage error"])[0]
        command = e.ctx.command_path if e.ctx is not None else "zkml"
        _fail(f"{message} (see `{command} --help`)")
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except BrokenPipeError:
        _quiet_broken_pipe()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()


def _quiet_broken_pipe() -> None:
    # The reader went away (e.g. `| head`): the work is done, so exit quietly,
    # pointing stdout at /dev/null so Python's exit-time flush stays silent.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


if __name__ == "__main__":
    run()
