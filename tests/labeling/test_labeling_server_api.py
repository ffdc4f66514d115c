"""The judge API in-process (FastAPI TestClient) on a toy judge trained from the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from labeling.data.registry import item_text
from labeling.data.judge_input import judge_text
from labeling.serve.app import create_app
from labeling.serve.judge_loader import load_judge
from labeling.serve.openapi import DOC_PATH, openapi_document
from labeling.serve.settings import ServerSettings
from labeling.serve.toy_judge import TOY_TRANSCRIPT, make_toy_judge

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
ITEMS = [
    {"id": "a", "question": "what type of energy is water", "answer": "the good answer"},
    {"id": "b", "question": "what are cells called", "answer": "not so long", "transcript": TOY_TRANSCRIPT},
    {"id": "c", "question": "which food is cheap", "answer": "bad food"},
]


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return make_toy_judge(tmp_path_factory.mktemp("serve") / "runs", tiny_model_dir)


@pytest.fixture(scope="module")
def judge(judge_dir):
    return load_judge(judge_dir)


def client_for(judge, **settings) -> TestClient:
    settings.setdefault("api_keys", frozenset({KEY}))
    return TestClient(create_app(judge, ServerSettings(**settings)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(judge):
    with client_for(judge) as c:
        yield c


def judge_post(client: TestClient, body: dict, headers: dict | None = AUTH):
    return client.post("/v1/judge", json=body, headers=headers)


def test_requests_without_a_valid_key_are_refused(client) -> None:
    for headers in (None, {"Authorization": "Bearer wrong-key-0123456789"}, {"Authorization": KEY}):
        response = judge_post(client, {"items": ITEMS[:1]}, headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/models").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/openapi.json").status_code == 401
    assert judge_post(client, {"items": ITEMS[:1]}).status_code == 200


def test_verdicts_match_the_training_formatting(client, judge_dir) -> None:
    from training import predict_proba

    body = judge_post(client, {"items": ITEMS}).json()
    assert [r["id"] for r in body["results"]] == ["a", "b", "c"]
    texts = [judge_text(item_text("sciq", i["question"], i["answer"]), i.get("transcript", "")) for i in ITEMS]
    offline = predict_proba(judge_dir / "model", texts, max_length=64, bf16=False)
    served = [r["probability"] for r in body["results"]]
    np.testing.assert_allclose(served, offline, atol=1e-6)
    assert all(r["label"] == int(r["probability"] >= 0.5) for r in body["results"])
    assert all(r["member_probabilities"] == [r["probability"]] for r in body["results"])
    assert body["protocol"] == "debate" and body["model"] == judge_dir.name


def test_an_item_gets_the_same_probability_alone_and_in_a_batch(client) -> None:
    alone = [judge_post(client, {"items": [item]}).json()["results"][0]["probability"] for item in ITEMS]
    batch = [r["probability"] for r in judge_post(client, {"items": ITEMS * 4}).json()["results"]]
    np.testing.assert_allclose(batch, alone * 4, atol=1e-6)
    transcript_changes_it = judge_post(client, {"items": [{**ITEMS[0], "transcript": TOY_TRANSCRIPT}]}).json()
    assert transcript_changes_it["results"][0]["probability"] != pytest.approx(alone[0], abs=1e-9)


def test_oversize_bodies_get_413(judge) -> None:
    with client_for(judge, max_body_bytes=2_000) as c:
        big = {"items": [{"question": "q" * 3_000, "answer": "a"}]}
        assert judge_post(c, big).status_code == 413  # declared Content-Length
        chunks = iter([b'{"items": [{"question": "', b"q" * 3_000, b'", "answer": "a"}]}'])
        streamed = c.post("/v1/judge", content=chunks, headers={**AUTH, "Content-Type": "application/json"})
        assert streamed.status_code == 413  # counted while streaming, no Content-Length
        assert "exceeds 2000 bytes" in streamed.json()["detail"]
        assert judge_post(c, {"items": ITEMS[:1]}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"items": []}, "body.items", "at least 1"),
        ({"items": [{"answer": "x"}]}, "body.items.0.question", "required"),
        ({"items": [{"question": "", "answer": "x"}]}, "body.items.0.question", "at least 1"),
        ({"items": [ITEMS[0], {"question": " \n\t", "answer": "x"}]}, "body.items.1.question", "must not be blank"),
        ({"items": [{"question": "q", "answer": ""}]}, "body.items.0.answer", "at least 1"),
        ({"items": [ITEMS[0], ITEMS[2], {"question": "q", "answer": "   "}]}, "body.items.2.answer", "must not be blank"),
        ({"items": [{"question": "q", "answer": 3}]}, "body.items.0.answer", "string"),
        ({"items": [{"question": "q", "answer": "a", "label": 1}]}, "body.items.0.label", "not permitted"),
        ({"items": ITEMS[:1], "debate": "maybe"}, "body.debate", "boolean"),
        ({"items": [ITEMS[1]], "debate": True}, "body", "transcript must be omitted"),
    ],
)
def test_invalid_fields_get_422_naming_the_field(client, body, field, words) -> None:
    response = judge_post(client, body)
    assert response.status_code == 422
    payload = response.json()
    assert field in [e["field"] for e in payload["errors"]]
    assert words in payload["detail"]
    assert all(set(e) == {"field", "message", "type"} for e in payload["errors"])  # no echoed input


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_not_sent_as_json_gets_415_naming_the_header(client, content_type) -> None:
    headers = {**AUTH, **({"content-type": content_type} if content_type else {})}
    response = client.post("/v1/judge", content=json.dumps({"items": ITEMS[:1]}).encode(), headers=headers)
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert "must be JSON" in detail and "content-type: application/json" in detail
    assert (content_type or "no content-type header") in detail
    without_key = client.post("/v1/judge", content=b"{}", headers={"content-type": "text/plain"})
    assert without_key.status_code == 401  # the key is checked first
    as_json = client.post("/v1/judge", content=json.dumps({"items": ITEMS[:1]}).encode(),
                          headers={**AUTH, "content-type": "application/json; charset=utf-8"})
    assert as_json.status_code == 200


def test_a_body_that_is_not_json_says_so(client) -> None:
    response = client.post("/v1/judge", content=b'{"items": [}', headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 422
    assert "the body is not valid JSON (character 11: Expecting value)" in response.json()["detail"]


def test_item_and_transcript_caps(judge) -> None:
    with client_for(judge, max_items=4, max_transcript_chars=50) as c:
        assert judge_post(c, {"items": ITEMS[:1] * 4}).status_code == 200
        too_many = judge_post(c, {"items": ITEMS[:1] * 5})
        assert too_many.status_code == 422 and "at most 4 items" in too_many.json()["detail"]
        long = judge_post(c, {"items": [{**ITEMS[0], "transcript": "x" * 51}]})
        assert long.status_code == 422 and "body.items.0.transcript" in long.json()["detail"]


def test_errors_inside_the_judge_are_a_plain_500(judge, monkeypatch) -> None:
    def broken(texts, *, batch_size=32):
        raise RuntimeError("secret detail /private/path")

    monkeypatch.setattr(judge, "predict_members", broken)
    with client_for(judge) as c:
        response = judge_post(c, {"items": ITEMS[:1]})
        assert response.status_code == 500
        assert response.json() == {"detail": "internal server error"}
        monkeypatch.undo()
        assert judge_post(c, {"items": ITEMS[:1]}).status_code == 200  # the batcher survived


def test_debate_true_runs_the_protocol_and_judges_its_transcript(judge) -> None:
    from debate import ScriptedBackend

    backend = ScriptedBackend(lambda request: "the answer is correct", model_id="scripted-debater")
    with TestClient(create_app(judge, ServerSettings(api_keys=frozenset({KEY})), debate_backend=backend)) as c:
        items = [{k: v for k, v in i.items() if k != "transcript"} for i in ITEMS[:2]]
        body = judge_post(c, {"items": items, "debate": True}).json()
        assert len(backend.calls) == 3 and all(len(call) == 2 for call in backend.calls)  # 3 rounds, batched
        assert backend.samplings[0].max_tokens == 32  # the training transcripts' settings
        for item, result in zip(items, body["results"]):
            transcript = result["transcript"]
            assert transcript["protocol"] == "debate" and transcript["model_id"] == "scripted-debater"
            assert [t["speaker"] for t in transcript["turns"]] == ["A", "B", "A"]
            same = judge_post(c, {"items": [{**item, "transcript": transcript["text"]}]}).json()["results"][0]
            assert result["probability"] == pytest.approx(same["probability"], abs=1e-6)
        models = c.get("/v1/models", headers=AUTH).json()["data"][0]
        assert models["debate_enabled"] is True and models["debater"] == "scripted-debater"


def test_debate_without_a_debater_is_a_clear_400(client) -> None:
    response = judge_post(client, {"items": ITEMS[:1], "debate": True})
    assert response.status_code == 400 and "not enabled" in response.json()["detail"]


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_models_shows_provenance_without_server_paths(client, judge_dir, tiny_model_dir) -> None:
    from labeling.serve.redact import without_paths

    response = client.get("/v1/models", headers=AUTH)
    card = response.json()["data"][0]
    assert card["id"] == judge_dir.name and card["dataset"] == "sciq" and card["ensemble_size"] == 1
    assert card["source"] == judge_dir.name
    member = card["members"][0]
    assert member["stage_dir"] == judge_dir.name
    stage = json.loads((judge_dir / "stage.json").read_text())
    assert stage["model"]["path"] == str(tiny_model_dir)  # what the folder records ...
    assert member["stage"] == without_paths(stage) and member["stage"]["model"]["path"] == tiny_model_dir.name
    assert member["train_log"]["spec"]["path"] == tiny_model_dir.name  # ... and what the API shows
    assert not [s for s in _strings(card) if s.startswith(("/", "~")) or s.count("/") > 1]
    assert str(judge_dir.parent) not in response.text and str(tiny_model_dir) not in response.text
    assert member["train_log"]["n_examples"] == 16 and "loss_per_step" not in member["train_log"]
    assert card["debate_defaults"]["word_limit"] == 40


def test_metrics_are_prometheus_text(judge) -> None:
    with client_for(judge) as c:
        judge_post(c, {"items": ITEMS})
        judge_post(c, {"items": []})
        text = c.get("/metrics", headers=AUTH).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = {(s.labels["route"], s.labels["status"]): s.value for s in families["w2s_judge_http_requests"].samples if s.name.endswith("_total")}
    assert requests[("/v1/judge", "200")] == 1 and requests[("/v1/judge", "422")] == 1
    items = [s for s in families["w2s_judge_items"].samples if s.name.endswith("_total")]
    assert items[0].value == 3
    batch_count = [s for s in families["w2s_judge_batch_texts"].samples if s.name.endswith("_count")]
    assert batch_count[0].value >= 1


def test_health_and_the_served_schema_is_the_checked_in_one(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(page, headers=AUTH).status_code == 404  # no pages that pull scripts from a CDN
    served = client.get("/openapi.json", headers=AUTH).json()
    assert served == json.loads(DOC_PATH.read_text()), "regenerate with: python -m labeling.serve.openapi"
    assert served == openapi_document()
    assert "/v1/judge" in served["paths"] and "HTTPBearer" in served["components"]["securitySchemes"]


def test_the_access_log_never_prints_query_strings(judge, free_port) -> None:
    import logging
    import threading

    import httpx
    import uvicorn
    from uvicorn.logging import AccessFormatter

    from labeling.serve.commands import uvicorn_config
    from labeling.serve.config import HttpSettings

    port = free_port()
    config = uvicorn_config(create_app(judge, ServerSettings(api_keys=frozenset({KEY}))), HttpSettings(port=port))
    lines: list[str] = []
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(formatter.format(record))  # type: ignore[method-assign]
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            if server.started:
                break
            threading.Event().wait(0.05)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/v1/models?api_key=SECRET-in-the-url", timeout=10).status_code == 401
        assert httpx.post(f"{url}/v1/judge?key=SECRET2&x=1", json={"items": ITEMS[:1]}, headers=AUTH,
                          timeout=30).status_code == 200
        assert httpx.get(f"{url}/healthz?SECRET3", timeout=10).status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        access.removeHandler(handler)
    log = "\n".join(lines)
    assert '"GET /v1/models?<redacted> HTTP/1.1" 401' in log
    assert '"POST /v1/judge?<redacted> HTTP/1.1" 200' in log and '"GET /healthz?<redacted> HTTP/1.1" 200' in log
    assert "SECRET" not in log and "key=" not in log


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_port_outside_1_to_65535_is_refused_naming_the_flag(port, tmp_path, capsys) -> None:
    from labeling.serve.commands import main

    assert main(["serve-judge", "--judge", str(tmp_path), "--port", port]) == 2
    err = capsys.readouterr().err
    assert "http.port (--port): must be a TCP port in 1..65535" in err and f"(got {port})" in err


def test_judge_items_file_that_is_not_utf8_names_the_line(tmp_path) -> None:
    from labeling.serve.commands import read_items_file

    path = tmp_path / "items.jsonl"
    path.write_bytes(b'{"question": "q", "answer": "a"}\n\n{"question": "q\xff", "answer": "a"}\n')
    with pytest.raises(ValueError, match=r"items\.jsonl: line 3: not valid UTF-8 \(byte 0xff at column 16\)"):
        read_items_file(path)
    path.write_text('{"question": "q", "answer": "a"}\n{"question": \n')
    with pytest.raises(ValueError, match=r"items\.jsonl: line 2: invalid JSON"):
        read_items_file(path)
    listed = tmp_path / "items.json"
    listed.write_text('[{"question": "q", "answer": "a"}]')
    assert read_items_file(listed) == [{"question": "q", "answer": "a"}]
