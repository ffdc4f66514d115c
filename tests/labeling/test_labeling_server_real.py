"""The judge endpoint on a judge fine-tuned from the packaged SmolLM2, over real HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.data.registry import item_text
from labeling.data.judge_input import judge_text
from labeling.serve.client import JudgeClient
from labeling.serve.toy_judge import TOY_TRANSCRIPT, make_toy_judge

from test_labeling_server_process import KEY, start_server

pytestmark = pytest.mark.real

ITEMS = [
    {"question": "What gas do plants absorb from the air?", "answer": "carbon dioxide"},
    {"question": "What gas do plants absorb from the air?", "answer": "helium", "transcript": TOY_TRANSCRIPT},
    {"question": "What is the powerhouse of the cell?", "answer": "the mitochondria"},
]


@pytest.fixture(scope="module")
def smollm2_judge(tmp_path_factory, smollm2_dir) -> Path:
    return make_toy_judge(tmp_path_factory.mktemp("real-serve") / "runs", smollm2_dir, max_length=96)


def test_served_smollm2_judge_matches_direct_prediction_alone_and_in_a_batch(smollm2_judge, tmp_path, free_port) -> None:
    from training import predict_proba

    port = free_port()
    proc = start_server(smollm2_judge, port, tmp_path / "server.log")
    try:
        with JudgeClient(f"http://127.0.0.1:{port}", KEY, timeout=60) as client:
            batch = [r["probability"] for r in client.judge(ITEMS)["results"]]
            alone = [client.judge([item])["results"][0]["probability"] for item in ITEMS]
            model = client.models()["data"][0]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    texts = [judge_text(item_text("sciq", i["question"], i["answer"]), i.get("transcript", "")) for i in ITEMS]
    direct = predict_proba(smollm2_judge / "model", texts, max_length=96, bf16=False, device="cpu").tolist()
    assert batch == pytest.approx(direct, abs=1e-4)
    assert alone == pytest.approx(batch, abs=1e-4)  # padding in a batch does not change an item's verdict
    assert model["id"] == smollm2_judge.name
    assert "smollm2" in str(model).lower()  # provenance names the base model
