"""Randomly initialised X-CLIP model folders, laid out exactly like a downloaded checkpoint.

For tests, benchmarks and trying the program where no weights can be downloaded. Scores from
random weights mean nothing about behaviour; speed does not depend on weight values.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

SIZES = {
    # tiny: fast tests. base: the shape of microsoft/xclip-base-patch32.
    "tiny": dict(text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2),
                 vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                             image_size=32, patch_size=8, mit_hidden_size=32, mit_intermediate_size=64,
                             mit_num_hidden_layers=1, mit_num_attention_heads=2),
                 projection_dim=32, prompt_layers=2, prompt_num_attention_heads=4),
    "base": dict(text=dict(), vision=dict(), projection_dim=512),
}

XCLIP_PREPROCESSOR = {
    "image_processor_type": "VideoMAEImageProcessor",
    "processor_class": "XCLIPProcessor",
    "do_resize": True, "resample": 2, "do_center_crop": True, "do_rescale": True,
    "rescale_factor": 1 / 255, "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
}
TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def write_minimal_tokenizer(folder: Path) -> None:
    """A byte-level CLIP tokenizer with no merges (used only when the real files are absent)."""
    # GPT-2/CLIP byte-to-character table: printable bytes map to themselves, the rest above 255.
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    extra = (b for b in range(256) if b not in printable)
    chars = [chr(b) for b in printable] + [chr(256 + i) for i, _ in enumerate(extra)]
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77}))


def xclip_prompt_init(model) -> None:
    """Initialise the video-specific prompt generator as X-CLIP's own code does before training
    (linear weights truncated normal, std 0.02, zero biases, alpha 0.1): the prompt starts as a
    small correction of the text embedding. transformers' generic init gives its linear layers
    std 1, which makes the random prompt ~100x the text embedding, unlike any trained X-CLIP."""
    import torch

    with torch.no_grad():
        for m in model.prompts_generator.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
        model.prompts_generator.alpha.fill_(model.config.prompt_alpha)


def build_random_xclip(folder: str | Path, size: str = "tiny", tokenizer_dir: str | Path | None = None,
                       num_frames: int = 8, seed: int = 0, prompt_init: str = "transformers") -> Path:
    """``prompt_init``: "transformers" (its generic init) or "xclip" (xclip_prompt_init)."""
    import torch
    from transformers import XCLIPConfig, XCLIPModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = SIZES[size]
    have_real_tokenizer = tokenizer_dir is not None and Path(tokenizer_dir, "vocab.json").exists()
    if have_real_tokenizer:
        for name in TOKENIZER_FILES:
            if Path(tokenizer_dir, name).exists():
                shutil.copy(Path(tokenizer_dir, name), folder / name)
    else:
        write_minimal_tokenizer(folder)
    vocab = len(json.loads((folder / "vocab.json").read_text()))
    text_config = dict(spec["text"], vocab_size=max(vocab, 49408) if have_real_tokenizer else vocab,
                       bos_token_id=vocab - 2, eos_token_id=vocab - 1, pad_token_id=vocab - 1)
    if have_real_tokenizer:
        text_config.update(bos_token_id=49406, eos_token_id=49407, pad_token_id=49407)
    vision_config = dict(spec["vision"], num_frames=num_frames)
    extra = {k: v for k, v in spec.items() if k not in ("text", "vision")}
    config = XCLIPConfig(text_config=text_config, vision_config=vision_config, **extra)
    torch.manual_seed(seed)
    model = XCLIPModel(config).eval()
    if prompt_init == "xclip":
        xclip_prompt_init(model)
    model.save_pretrained(folder, safe_serialization=True)
    image = config.vision_config.image_size
    pp = dict(XCLIP_PREPROCESSOR, size={"shortest_edge": image}, crop_size={"height": image, "width": image})
    (folder / "preprocessor_config.json").write_text(json.dumps(pp, indent=2))
    return folder


# The demo model offered in the window for trying the program offline: base-sized (so speed is
# realistic), random weights (so its scores mean nothing), built in place, named so wherever
# its path is shown.
DEMO_FOLDER = "demo-model-random-weights"
DEMO_NOTE = "demo model (random weights, meaningless scores)"


def demo_model_folder() -> Path:
    from ..paths import cache_root

    return cache_root() / DEMO_FOLDER


def build_demo_model(folder: str | Path | None = None, size: str = "base") -> Path:
    """The demo model folder, built once (a few seconds) and reused; written beside its final
    name and renamed into place, so an interrupted build never leaves half a model."""
    import tempfile

    folder = Path(folder) if folder is not None else demo_model_folder()
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        build_random_xclip(tmp, size)
        (tmp / "README.txt").write_text(f"ethoscout {DEMO_NOTE}: randomly initialised X-CLIP for trying the "
                                        "program; it knows nothing about behaviour.\n")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
