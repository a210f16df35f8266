"""Typed models of the JSON files users touch: ``input.json``, calibration
files, ``settings.json`` and ``output.json``. zkml validates these files with
them (``validate`` turns a failure into one line naming the field), and their
JSON Schemas, for editors and other tools, live in ``docs/schemas/``:

    python -m zkml.schemas            # write docs/schemas/*.schema.json
    python -m zkml.schemas --check    # exit 1 if the checked-in schemas are stale
    python -m zkml.schemas --out DIR  # elsewhere

A test runs ``--check``. Shapes and input names are model-specific, so the
schemas say what a file's structure is; zkml.inputs checks the rest against
the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictFloat, StrictInt, ValidationError
from typing_extensions import TypeAliasType

from zkml.errors import InputFileError

Number = StrictInt | StrictFloat  # JSON numbers; true/false and "1" are not numbers
Values = TypeAliasType("Values", "Number | list[Values]")  # a number, or a nested list of numbers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EzklInput(_Strict):
    """ezkl's shape: one list per model input, in the model's input order."""

    input_data: list[Values] = Field(description="One (flat or nested) list of numbers per model input, in order.")
    output_data: Any | None = Field(None, description="Ignored (ezkl writes the expected outputs here).")


class NamedInput(RootModel[dict[str, Values]]):
    """One entry per model input, by its ONNX name: a flat list or a nested list of the input's shape."""


class InputFile(RootModel[EzklInput | NamedInput]):
    """``input.json``: the model inputs of one inference, in ezkl's shape
    ``{"input_data": [[...]]}`` or named ``{"<onnx input name>": [...]}``.
    Leading 1-sized axes may be left out; a flat list of the input's size is
    also accepted."""

    model_config = ConfigDict(title="zkml input.json")


class CalibrationFile(RootModel[EzklInput | NamedInput]):
    """A calibration file: sample inputs that choose the circuit's scales, in
    input.json's shape. Each input may hold k samples: a flat list of k × size
    values, k flat lists, or a nested [k, *shape] list; every input gives the
    same k."""

    model_config = ConfigDict(title="zkml calibration file")


class TensorInfo(_Strict):
    name: str
    shape: list[int]
    scale: int = Field(description="Fractional bits f: the tensor holds q · 2^-f.")
    bits: int = Field(description="Signed bit width of every element.")


class CalibrationBox(_Strict):
    min: float
    max: float


class CalibrationReport(_Strict):
    samples: int
    assumed: bool = Field(description="True when no calibration data was given and inputs were assumed in [-1, 1].")
    inputs: dict[str, CalibrationBox] = Field(description="Each input's [min, max]: the box the error bound is for.")


class TensorReport(_Strict):
    name: str
    scale: int
    bits: int
    calibration_max_abs: float | None
    certified_max_abs: float | None
    range_certified: bool = Field(description="False: an input inside the box may overflow this tensor's range.")


class OutputReport(_Strict):
    error_bound: float | None = Field(description="Certified max |quantized - exact| for inputs in the box; null: none.")
    measured_max_abs_error: float | None


class MeasuredError(_Strict):
    samples: int
    max_abs_error: dict[str, float]


class QuantizationReport(_Strict):
    bits: int
    headroom: float
    calibration: CalibrationReport
    tensors: list[TensorReport]
    outputs: dict[str, OutputReport]
    notes: list[str]
    measured_error_vs_onnxruntime: MeasuredError | None = Field(
        description="Against onnxruntime over the calibration samples; null without onnxruntime or samples.")


class IoInfo(TensorInfo):
    visibility: Literal["public", "hashed", "private"] = Field(
        "public", description="What a verifier sees: the values, a salted Poseidon commitment, or nothing.")


class PublicSignals(_Strict):
    kind: Literal["input", "output"]
    name: str
    visibility: Literal["public", "hashed", "private"]
    first: int = Field(description="Index of its first public signal.")
    count: int = Field(description="Public signals it takes: packed values (public), 1 (hashed) or 0 (private).")


class WeightsCommitment(_Strict):
    """Where a build compiled with ``--weights committed`` publishes its weights commitment (zkml.privacy)."""

    mode: Literal["committed"]
    commitment: str = Field(description="The salted Poseidon commitment to the weights (decimal).")
    signal: int = Field(description="Index of the public signal that holds it (the last).")
    bits: int = Field(description="Signed width of each committed weight (biases: 64).")
    values: int = Field(description="How many weight and bias values are committed.")


class SenderBinding(_Strict):
    """Where a build compiled with ``--bind-sender`` keeps the submitting address (zkml.sender)."""

    input: str = Field(description="The program input that holds it (shape [5], 32 bits, scale 0).")
    signal: int = Field(description="Index of the public signal equal to the address; also the number of "
                                    "public signals that hold the model's inputs.")


class Settings(_Strict):
    """``settings.json``, written by ``zkml compile`` beside the circuit."""

    model_config = ConfigDict(title="zkml settings.json")

    zkml_version: str
    format_version: int
    circuit_hash: str = Field(description="SHA-256 of circuit.json, which covers constants.bin.")
    model: str
    bits: int
    constraints: int
    variables: int
    public_inputs: int
    qap_domain_size: int
    matrix_nonzeros: int
    constraints_by_instruction: dict[str, int]
    inputs: list[IoInfo]
    outputs: list[IoInfo]
    public_signals: list[PublicSignals] | None = Field(None, description="Where each input and output sits in "
                                                       "public.json, in order.")
    tensors: list[TensorInfo]
    quantization: QuantizationReport
    compile_seconds: float
    sender: SenderBinding | None = Field(None, description="Present when the proof is bound to its sender.")
    weights: WeightsCommitment | None = Field(None, description="Present when the weights are committed.")


class OutputFile(_Strict):
    """``output.json``, written by ``zkml prove`` beside the proof. A verifier
    must not trust it (the prover could edit it): ``zkml verify`` decodes the
    outputs from public.json instead."""

    model_config = ConfigDict(title="zkml output.json")

    circuit_hash: str
    outputs: dict[str, Values] = Field(description="Dequantized model outputs by ONNX output name.")
    quantized: dict[str, Values] = Field(description="The same outputs as the circuit's integers (q for q · 2^-scale).")
    commitments: dict[str, str] | None = Field(None, description="Each hashed output's commitment (decimal), as in "
                                               "public.json. Hashed and private outputs are not in `outputs`: "
                                               "their values are in the prover's private.json.")


SCHEMAS: dict[str, type[BaseModel]] = {
    "input": InputFile,
    "calibration": CalibrationFile,
    "settings": Settings,
    "output": OutputFile,
}
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"  # in a checkout


def validate(model: type[BaseModel], doc: Any, source: str) -> Any:
    """``doc`` validated by ``model``, or an :class:`InputFileError` of one line
    naming the field that is wrong."""
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        raise InputFileError(f"{source}: {_describe(e)}", source) from None


def validate_inputs(doc: Any, source: str, input_names: list[str], calibration: bool = False) -> None:
    """Check an input.json or calibration document against its schema. The
    union of its two shapes is resolved here, as zkml.inputs resolves it: ezkl's
    when it has an "input_data" key that is not a model input's name, named
    otherwise; so the message is about the shape the file uses."""
    if not isinstance(doc, dict):
        raise InputFileError(f"{source}: expected a JSON object ({{\"input_data\": [...]}} or named inputs), "
                             f"got {type(doc).__name__}", source)
    shape = EzklInput if "input_data" in doc and "input_data" not in input_names else NamedInput
    validate(shape, doc, source)


def _describe(e: ValidationError) -> str:
    # A value that is neither a number nor a list fails every branch of the
    # Values union; report it once, at its own place, whatever branch said it.
    errors = e.errors()
    deepest = max(errors, key=lambda err: len(_keys(err["loc"])))
    where = _location(_keys(deepest["loc"])) or "the document"
    found = deepest.get("input")
    if isinstance(found, (str, int, float, bool, type(None))):
        shown = json.dumps(found)[:40]
    else:
        shown = "an object" if isinstance(found, dict) else "a list" if isinstance(found, list) else type(found).__name__
    if deepest["type"] in ("int_type", "float_type", "list_type") and _in_values(deepest["loc"]):
        return f"{where} must be a number or a list of numbers, got {shown}"
    if deepest["type"] == "extra_forbidden":
        return f"unexpected key {where}"
    if deepest["type"] == "missing":
        return f"missing {where}"
    return f"{where}: {deepest['msg'][:1].lower()}{deepest['msg'][1:]}, got {shown}"


def _is_branch(part: Any) -> bool:
    """pydantic's name of a union branch inside an error location, not a key or index."""
    return isinstance(part, str) and (
        part in ("int", "float", "str", "bool") or part.startswith(("list[", "dict[", "union[")) or part in SCHEMA_BRANCHES
    )


SCHEMA_BRANCHES = {"EzklInput", "NamedInput"}


def _keys(loc: tuple) -> list:
    return [p for p in loc if not _is_branch(p)]


def _in_values(loc: tuple) -> bool:
    return any(isinstance(p, str) and (p in ("int", "float") or p.startswith("list[union")) for p in loc)


def _location(parts: list) -> str:
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text


def schema_of(model: type[BaseModel]) -> dict:
    return model.model_json_schema()


def render(name: str) -> str:
    return json.dumps(schema_of(SCHEMAS[name]), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m zkml.schemas", description="Write (or check) the JSON "
                                     "Schemas of input.json, calibration files, settings.json and output.json.")
    parser.add_argument("--check", action="store_true", help="exit 1 if a schema file differs from the models")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="folder of the schema files (default: %(default)s)")
    args = parser.parse_args(argv)
    check, out = args.check, args.out
    stale = []
    for name in SCHEMAS:
        path = out / f"{name}.schema.json"
        text = render(name)
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"error: stale JSON schemas: {', '.join(stale)}; run `python -m zkml.schemas`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
