"""The files users touch (input.json, calibration, settings.json, output.json)
are described by typed models (zkml.schemas) that validate them, and the JSON
Schemas checked in under docs/schemas/ are the ones the models generate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import zkml
from conftest import DIGITS, REPO, read
from zkml import schemas
from zkml.errors import InputFileError

ZOO = sorted(p.parent for p in (REPO / "circuits").glob("*/model.onnx"))


def test_the_checked_in_json_schemas_are_the_ones_the_models_generate():
    r = subprocess.run([sys.executable, "-m", "zkml.schemas", "--check"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    for name in schemas.SCHEMAS:
        assert json.loads((REPO / "docs" / "schemas" / f"{name}.schema.json").read_text())["title"].startswith("zkml")


def test_a_stale_schema_file_is_reported(tmp_path):
    assert schemas.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.schema.json" for n in sorted(schemas.SCHEMAS)]
    assert schemas.main(["--out", str(tmp_path), "--check"]) == 0
    path = tmp_path / "settings.schema.json"
    path.write_text(path.read_text().replace('"circuit_hash"', '"hash"', 1))
    assert schemas.main(["--out", str(tmp_path), "--check"]) == 1


@pytest.mark.parametrize("folder", ZOO, ids=[p.name for p in ZOO])
def test_every_zoo_input_and_calibration_file_matches_its_schema(folder):
    schemas.InputFile.model_validate(read(folder / "input.json"))
    schemas.CalibrationFile.model_validate(read(folder / "calibration.json"))


def test_what_compile_and_prove_write_matches_the_schemas(digits_build, digits_proof):
    settings = schemas.Settings.model_validate(read(digits_build / "settings.json"))
    assert settings.quantization.outputs["logits"].error_bound is not None
    output = schemas.OutputFile.model_validate(read(digits_proof / "output.json"))
    assert output.circuit_hash == settings.circuit_hash


@pytest.mark.parametrize("doc, message", [
    ({"input_data": [[0.5, "2"]]}, 'input_data[0][1] must be a number or a list of numbers, got "2"'),
    ({"input": [[0.5, True]]}, "input[0][1] must be a number or a list of numbers, got true"),
    ({"input": {"a": 1}}, "input must be a number or a list of numbers, got an object"),
    ({"input_data": [[0.5]], "weights": []}, "unexpected key weights"),
    ({"input_data": 5}, "input_data: input should be a valid list, got 5"),
    ([0.5], "expected a JSON object"),
])
def test_a_malformed_input_file_is_one_line_naming_the_field(digits_build, tmp_path, doc, message):
    path = tmp_path / "input.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputFileError) as caught:
        zkml.prove(digits_build, path, tmp_path / "out")
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value) and not (tmp_path / "out").exists()


def test_a_malformed_calibration_file_names_the_field(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"input_data": [[0.5, None]]}))
    with pytest.raises(InputFileError, match=r"input_data\[0\]\[1\] must be a number or a list of numbers, got null"):
        zkml.compile(DIGITS / "model.onnx", tmp_path / "build", calibration=path)
    assert not (tmp_path / "build").exists()


def test_a_settings_file_of_the_wrong_type_is_refused_naming_the_field(digits_build, tmp_path):
    import shutil

    build = tmp_path / "build"
    shutil.copytree(digits_build, build)
    settings = read(build / "settings.json")
    settings["constraints"] = "many"
    (build / "settings.json").write_text(json.dumps(settings))
    with pytest.raises(InputFileError, match=r"settings.json: constraints: input should be a valid integer"):
        zkml.api.load_build(build)


def test_the_json_schema_says_a_value_is_a_number_or_a_nested_list(tmp_path):
    schema = json.loads(schemas.render("input"))
    values = schema["$defs"]["Values"]
    kinds = {json.dumps(choice, sort_keys=True) for choice in values["anyOf"]}
    assert '{"type": "integer"}' in kinds and '{"type": "number"}' in kinds
    assert '{"items": {"$ref": "#/$defs/Values"}, "type": "array"}' in kinds
