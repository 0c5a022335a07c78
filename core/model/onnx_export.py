"""ONNX graphs of the two towers, exported once per model and cached on disk.

vision: pixels (B, T, 3, H, W) normalised -> frame_cls (B, T, D), img_features (B, P, D),
        exactly ``features.encode_windows``;
text:   input_ids, attention_mask (K, L) int64 -> text_embeds (K, D), ``features.text_embeds``.
Batch (and text length) are dynamic; T, H and W are the checkpoint's.

Graphs live under ``$ETHOSCOUT_CACHE/onnx/<model fingerprint>/`` (default cache folder
``~/.cache/ethoscout``), so a changed model (new weights, a merged adapter) gets a new folder
and old exports are never used for it. Every file is written to a temporary name and renamed
into place, so a crash or a second process never leaves a half-written graph behind.
Derived precisions (int8, fp16) are built from the fp32 graph.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .features import encode_windows
from ..paths import cache_root
from ..progress import ProgressFn, warmup
from .loading import LoadedModel, ModelError


# Bump when the exported graphs change meaning; part of every file name.
EXPORT_VERSION = 1
PARTS = ("vision", "text")
PRECISIONS = ("fp32", "int8", "fp16")
OPSET = 17
# Lowest acceptable cosine (per output row) between a freshly exported graph and torch.
MIN_COSINE = {"fp32": 0.999, "fp16": 0.999, "int8": 0.95}


class ExportError(ModelError):
    pass


def onnx_folder(fingerprint: str) -> Path:
    return cache_root() / "onnx" / fingerprint


def graph_path(loaded: LoadedModel, part: str, precision: str) -> Path:
    return onnx_folder(loaded.fingerprint) / f"{part}-v{EXPORT_VERSION}-{precision}.onnx"


class VisionGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixels):
        return encode_windows(self.model, pixels)


class TextGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
        return getattr(out, "pooler_output", out)


def vision_example(loaded: LoadedModel, batch: int = 2, seed: int = 0) -> torch.Tensor:
    vc = loaded.model.config.vision_config
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, loaded.num_frames, 3, vc.image_size, vc.image_size, generator=g)


def text_example(loaded: LoadedModel) -> dict[str, torch.Tensor]:
    enc = loaded.tokenizer(["a mouse rearing against the wall", "grooming"], padding=True,
                           truncation=True, max_length=77, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def _export_args(loaded: LoadedModel, part: str):
    """(module, example inputs, input names, output names, dynamic axes) for torch.onnx.export."""
    if part == "vision":
        return (VisionGraph(loaded.model), (vision_example(loaded),), ["pixels"], ["frame_cls", "img_features"],
                {"pixels": {0: "batch"}, "frame_cls": {0: "batch"}, "img_features": {0: "batch"}})
    ex = text_example(loaded)
    return (TextGraph(loaded.model), (ex["input_ids"], ex["attention_mask"]), ["input_ids", "attention_mask"],
            ["text_embeds"], {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
                              "text_embeds": {0: "batch"}})


def _tmp_path(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


def _export_fp32(loaded: LoadedModel, part: str, out: Path) -> None:
    module, args, inputs, outputs, axes = _export_args(loaded, part)
    model_device = next(loaded.model.parameters()).device
    module = module.eval()
    if model_device.type != "cpu":  # export from a CPU copy: the graph must not depend on the GPU
        import copy

        module = copy.deepcopy(module).cpu()
    errors = []
    # The TorchScript exporter handles X-CLIP's reshapes in a second and gives the same numbers;
    # the dynamo exporter is the fallback for torch builds that no longer ship it.
    for dynamo in (False, True):
        try:
            kw = dict(dynamic_axes=axes) if not dynamo else dict(dynamic_shapes=_dynamic_shapes(inputs, axes))
            import warnings

            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, args, str(out), input_names=inputs, output_names=outputs,
                                  opset_version=OPSET, dynamo=dynamo, external_data=False, **kw)
            return
        except Exception as e:  # noqa: BLE001 - any exporter failure means "try the other one"
            errors.append(f"{'dynamo' if dynamo else 'torchscript'}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    raise ExportError(f"{loaded.name}: could not export the {part} tower to ONNX ({'; '.join(errors)})")


def _dynamic_shapes(inputs: list[str], axes: dict) -> dict:
    dims: dict[str, torch.export.Dim] = {}
    shapes = {}
    for name in inputs:
        shapes[name] = {i: dims.setdefault(label, torch.export.Dim(label, min=1, max=4096))
                        for i, label in axes[name].items()}
    return shapes


def _quantize_int8(src: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Dynamic quantisation: int8 weights, activations quantised per call; MatMul only, which is
    # where the time goes, and it keeps the layer norms and softmax in float. Its generic advice
    # to pre-process the graph goes to the root logger, where users would see it: silenced.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
    finally:
        root.setLevel(level)


def _convert_fp16(src: Path, out: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(out))


def export(loaded: LoadedModel, part: str = "vision", precision: str = "fp32", verify: bool = True,
           on_progress: ProgressFn | None = None) -> Path:
    """The cached graph for ``part`` at ``precision``, exported (and checked) if missing;
    ``on_progress`` hears each step, since a first export takes a while."""
    if part not in PARTS or precision not in PRECISIONS:
        raise ValueError(f"no ONNX graph {part!r}/{precision!r}; parts {PARTS}, precisions {PRECISIONS}")
    final = graph_path(loaded, part, precision)
    if final.exists():
        return final
    source = export(loaded, part, "fp32", verify, on_progress) if precision != "fp32" else None
    tmp = _tmp_path(final)
    try:
        if precision == "fp32":
            warmup(on_progress, f"exporting the {part} tower to ONNX (once per model)")
            _export_fp32(loaded, part, tmp)
        elif precision == "int8":
            warmup(on_progress, f"quantising the {part} graph to int8 (once per model)")
            _quantize_int8(source, tmp)
        else:
            warmup(on_progress, f"converting the {part} graph to fp16 (once per model)")
            _convert_fp16(source, tmp)
        if verify:
            warmup(on_progress, f"checking the {precision} {part} graph against torch")
        report = check(loaded, tmp, part) if verify else None
        if report is not None and report.min_cosine < MIN_COSINE[precision]:
            raise ExportError(f"{loaded.name}: the {precision} {part} graph disagrees with torch "
                              f"(cosine {report.min_cosine:.4f} < {MIN_COSINE[precision]})")
        os.chmod(tmp, 0o644)  # mkstemp made it private; the cache is an ordinary user folder
        os.replace(tmp, final)
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001 - quantiser/converter errors become one line
        raise ExportError(f"{loaded.name}: could not build the {precision} {part} graph "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    finally:
        tmp.unlink(missing_ok=True)
    _write_manifest(loaded, final, report)
    return final


def _write_manifest(loaded: LoadedModel, path: Path, report: "Agreement | None") -> None:
    """What each graph was built from and how closely it matched torch (for humans)."""
    manifest = path.parent / "manifest.json"
    data = json.loads(manifest.read_text()) if manifest.exists() else {}
    data.update(model=loaded.name, fingerprint=loaded.fingerprint, torch=torch.__version__)
    data.setdefault("graphs", {})[path.name] = {"min_cosine": None if report is None else report.min_cosine}
    tmp = _tmp_path(manifest)
    tmp.write_text(json.dumps(data, indent=1))
    os.chmod(tmp, 0o644)
    os.replace(tmp, manifest)


@dataclass
class Agreement:
    """Per-output lowest row-wise cosine and largest absolute difference vs torch."""

    cosine: dict[str, float]
    max_abs: dict[str, float]

    @property
    def min_cosine(self) -> float:
        return min(self.cosine.values())


def row_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    num = (a * b).sum(1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12
    return float((num / den).min())


def check(loaded: LoadedModel, path: Path, part: str, providers: list[str] | None = None) -> Agreement:
    """Run the graph and torch on the same deterministic inputs and compare."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=providers or ["CPUExecutionProvider"])
    dev = next(loaded.model.parameters()).device
    with torch.no_grad():
        if part == "vision":
            x = vision_example(loaded, batch=2, seed=1)
            got = sess.run(None, {"pixels": x.numpy()})
            ref = [t.float().cpu().numpy() for t in encode_windows(loaded.model, x.to(dev))]
            names = ["frame_cls", "img_features"]
        else:
            ex = text_example(loaded)
            got = sess.run(None, {k: v.numpy() for k, v in ex.items()})
            ref = [TextGraph(loaded.model)(*(v.to(dev) for v in ex.values())).float().cpu().numpy()]
            names = ["text_embeds"]
    return Agreement({n: row_cosine(g, r) for n, g, r in zip(names, got, ref)},
                     {n: float(np.abs(g - r).max()) for n, g, r in zip(names, got, ref)})
