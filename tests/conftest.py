"""Session-wide test set-up: a private network namespace for Ray, the packaged model, one Ray session.

Ray talks to itself over the machine's non-loopback address unless it runs in a network
namespace with only loopback; where that is possible (Linux, root), the whole test session
moves into one before anything starts a thread, so tests never need a manual wrapper.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from debate import VLLMChatBackend

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Enter a private network namespace (loopback only) for the whole session, when possible."""
    from labeling.exec.netns import can_isolate, enter_private_netns, inside_private_netns

    os.environ.setdefault("W2S_CACHE_DIR", str(REPO_ROOT / ".cache"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    if not inside_private_netns() and can_isolate():
        enter_private_netns()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The local dataset copies (``../shared/data`` beside the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared datasets are missing at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The packaged SmolLM2-135M-Instruct as an HF checkpoint (converted once, then cached)."""
    from labeling.store.model_refs import prepare_packaged_model

    return prepare_packaged_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def smollm2_backend(smollm2_dir: Path) -> Iterator["VLLMChatBackend"]:
    """One in-process vLLM engine on the packaged SmolLM2, shared by the real debate-package tests.

    float32, because the tests check that the same requests give the same outputs: on vLLM-CPU
    in bfloat16 the results depend on where the KV blocks land (measured: the prompted judge's
    P(correct) moved by up to 0.024 after a prefix-cache reset), in float32 they do not.
    """
    from debate import VLLMChatBackend

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
        backend = VLLMChatBackend(
            str(smollm2_dir), dtype="float32", max_model_len=2048, enforce_eager=True, model_id="smollm2-135m-instruct"
        )
        yield backend
        backend.close()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray for the whole session (inside the private namespace where one could be made)."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="w2s-ray-test-")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp_dir, log_to_driver=True)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


TINY_WORDS = (
    "good bad the a movie film book food was is really quite very not so it this that "
    "q : answer true false yes no plot actors story service cheap long short fun "
    "what of in and to which type are called by cells energy water correct incorrect debater argues"
).split()
TINY_LAYERS = 3


def build_tiny_checkpoint(directory: Path, num_layers: int = TINY_LAYERS) -> Path:
    """Save a small random Llama causal LM with a whitespace word-level tokenizer (offline, seeded)."""
    import torch
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(["[UNK]", "<s>", "</s>", *TINY_WORDS])}
    backend = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", bos_token="<s>", eos_token="</s>")
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(vocab),
        max_position_embeddings=1024,
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        pad_token_id=None,
    )
    torch.manual_seed(1234)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-layer random Llama causal LM + word-level tokenizer (no pad token), built once per session."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def deep_tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny random Llama with 5 layers: room for cuts between a 1-layer weak and the whole strong model."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama-5"), num_layers=5)


@pytest.fixture
def forbid_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any training or prediction fail: for checking that finished stages are reused."""
    import training

    import labeling.exec.ray_train
    import labeling.label.judge_labels
    import labeling.stages.trained

    def refuse(*args, **kwargs):
        raise AssertionError("a finished stage was trained or predicted again")

    # the library, and every module that imported the functions by name
    for module in (training, labeling.exec.ray_train, labeling.stages.trained, labeling.label.judge_labels):
        for name in ("train_classifier", "predict_proba"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)


def _free_port() -> int:
    """A currently unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """Pick an unused loopback port: ``port = free_port()`` (the one helper every server test uses)."""
    return _free_port


@contextlib.contextmanager
def _vllm_openai_server(args: list[str], log_path: Path, *, timeout_s: float = 240.0) -> Iterator[str]:
    """vLLM's OpenAI-compatible server (eager, on a free loopback port) with ``args``; yields its URL.

    Fails the test with the server's log if it exits or is not healthy in ``timeout_s``; stops the
    whole process group afterwards.
    """
    import httpx

    port = _free_port()
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_NUM_OF_RESERVED_CPU="0")
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--host", "127.0.0.1",
               "--port", str(port), "--enforce-eager", *args]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not healthy after {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture(scope="session")
def vllm_openai_server() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """Start vLLM's OpenAI-compatible server: ``with vllm_openai_server(args, log_path) as url: ...``."""
    return _vllm_openai_server
