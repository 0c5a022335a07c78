"""Malformed model and adapter folders: each gives one line naming the file and the problem
(ModelError / AdapterError), never a traceback from safetensors, transformers or peft, and never
a model that loads anyway."""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethoscout.core.model.loading import ModelError, load_xclip
from ethoscout.core.model.lora import AdapterError, attach_lora, load_adapter, lora_config, save_adapter

from .conftest import cli


def _header(obj) -> bytes:
    raw = json.dumps(obj).encode()
    return struct.pack("<Q", len(raw)) + raw


def safetensors_cases(good: bytes) -> dict[str, bytes]:
    """Broken versions of a real safetensors file."""
    (n,) = struct.unpack("<Q", good[:8])
    return {
        "empty": b"",
        "4 bytes": good[:4],
        "header only": good[:8],
        "half": good[: len(good) // 2],
        "last byte cut": good[:-1],
        "header length 2**63": struct.pack("<Q", 2**63) + good[8:],
        "header longer than file": struct.pack("<Q", len(good)) + good[8:],
        "header not json": struct.pack("<Q", n) + b"\xff" * n + good[8 + n:],
        "header a list": _header([1, 2, 3]),
        "header a string": _header("tensors"),
        "offsets past the end": _header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}),
        "offsets reversed": _header({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}) + b"\0" * 4,
        "offsets missing": _header({"w": {"dtype": "F32", "shape": [1]}}) + b"\0" * 4,
        "wrong dtype": _header({"w": {"dtype": "Q99", "shape": [1], "data_offsets": [0, 4]}}) + b"\0" * 4,
        "shape and size disagree": _header({"w": {"dtype": "F32", "shape": [99], "data_offsets": [0, 4]}}) + b"\0" * 4,
        "zeros": b"\0" * 64,
        "text": b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n",
    }


CONFIG_CASES = {
    "a list": "[]", "a string": '"xclip"', "null": "null", "empty object": "{}", "invalid": "{model_type: xclip",
    "not utf-8": b"\xff\xfe{}", "another model": '{"model_type": "bert"}',
    "vision config a number": '{"model_type": "xclip", "vision_config": 5}',
    "text config a list": '{"model_type": "xclip", "text_config": []}',
    "frames negative": '{"model_type": "xclip", "vision_config": {"num_frames": -3}}',
    "empty file": "",
}

PREPROCESSOR_CASES = {
    "invalid": "{", "a list": "[]", "null": "null", "crop negative": '{"crop_size": -1}',
    "crop text": '{"crop_size": "big"}', "size zero": '{"size": {"shortest_edge": 0}}',
    "std zero": '{"image_std": [0, 0, 0]}', "mean short": '{"image_mean": [1]}',
    "mean nan": '{"image_mean": [NaN, 0, 0]}', "rescale text": '{"rescale_factor": "x"}',
    "rescale negative": '{"rescale_factor": -1}', "crop huge": '{"crop_size": 100000000}',
    "not utf-8": b"\xff\xfe",
}


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    def make(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(tiny_model_dir, folder)
        return folder
    return make


def _write(path: Path, content) -> None:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


def _refused(folder: Path, file: str):
    with pytest.raises(ModelError) as e:
        load_xclip(folder, device="cpu")
    msg = str(e.value)
    assert "\n" not in msg and file in msg, msg


def test_malformed_model_weights(model_copy, tiny_model_dir):
    good = (tiny_model_dir / "model.safetensors").read_bytes()
    for i, (case, data) in enumerate(safetensors_cases(good).items()):
        folder = model_copy(f"w{i}")
        _write(folder / "model.safetensors", data)
        _refused(folder, folder.name)


def test_malformed_model_config(model_copy):
    for i, (case, data) in enumerate(CONFIG_CASES.items()):
        folder = model_copy(f"c{i}")
        _write(folder / "config.json", data)
        _refused(folder, folder.name)


def test_malformed_preprocessor_config(model_copy):
    for i, (case, data) in enumerate(PREPROCESSOR_CASES.items()):
        folder = model_copy(f"p{i}")
        _write(folder / "preprocessor_config.json", data)
        _refused(folder, "preprocessor_config.json")


def test_a_broken_model_is_one_line_on_the_command_line(model_copy, tmp_path, capsys):
    folder = model_copy("cli")
    _write(folder / "model.safetensors", b"")
    r = cli(capsys, "index", "--project", tmp_path / "p", "--model", folder, tmp_path / "v.mp4")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "model.safetensors" in errors[0], r.stderr
    assert not (tmp_path / "p").exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), keep=st.integers(0, 64))
def test_random_weight_bytes(model_copy, tiny_model_dir, data, keep):
    good = (tiny_model_dir / "model.safetensors").read_bytes()
    folder = model_copy("random")
    try:
        _write(folder / "model.safetensors", good[:keep] + data)
        _refused(folder, "random")
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def adapter_copy(tiny_model, tmp_path):
    source = save_adapter(attach_lora(tiny_model, lora_config()).model, tmp_path / "adapter",
                          {"version": 1, "base_fingerprint": tiny_model.fingerprint})

    def make(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(source, folder)
        return folder
    return make


def _adapter_refused(loaded, folder: Path, file: str):
    with pytest.raises(AdapterError) as e:
        load_adapter(loaded, folder)
    msg = str(e.value)
    assert "\n" not in msg and file in msg, msg


def test_malformed_adapters(tiny_model, adapter_copy):
    folder = adapter_copy("ok")
    load_adapter(tiny_model, folder)  # the unbroken copy loads
    good = (folder / "adapter_model.safetensors").read_bytes()
    n = 0
    for data in safetensors_cases(good).values():
        broken = adapter_copy(f"w{n}")
        _write(broken / "adapter_model.safetensors", data)
        _adapter_refused(tiny_model, broken, broken.name)
        n += 1
    for name in ("adapter_config.json", "ethoscout_adapter.json"):
        for data in ("[]", "{", "null", b"\xff", '"x"'):
            broken = adapter_copy(f"c{n}")
            _write(broken / name, data)
            _adapter_refused(tiny_model, broken, name)
            n += 1
    broken = adapter_copy("nometa")
    (broken / "ethoscout_adapter.json").unlink()
    _adapter_refused(tiny_model, broken, "ethoscout_adapter.json")
    broken = adapter_copy("otherbase")
    _write(broken / "ethoscout_adapter.json", '{"base_fingerprint": "0000000000000000"}')
    _adapter_refused(tiny_model, broken, "another model")
    broken = adapter_copy("badconfig")
    _write(broken / "adapter_config.json", '{"peft_type": "LORA", "r": -1, "target_modules": 5}')
    _adapter_refused(tiny_model, broken, broken.name)
