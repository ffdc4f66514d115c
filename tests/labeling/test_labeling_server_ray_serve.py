"""The judge API on two Ray Serve replicas: real HTTP to Serve's proxy on loopback."""

from __future__ import annotations

import argparse
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from fastapi.testclient import TestClient

from labeling.serve import commands as serve_cli
from labeling.serve.app import create_app
from labeling.serve.judge_loader import load_judge
from labeling.serve.ray_serve import JudgeSource, ReplicaOptions, deploy_judge, replica_states
from labeling.serve.settings import InsecureBindingError, ServerSettings
from labeling.serve.toy_judge import TOY_TRANSCRIPT, make_toy_judge

KEY = "serve-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
SETTINGS = ServerSettings(api_keys=frozenset({KEY}))
ITEMS = [
    {"id": "a", "question": "what type of energy is water", "answer": "the good answer"},
    {"id": "b", "question": "what are cells called", "answer": "not so long", "transcript": TOY_TRANSCRIPT},
    {"id": "c", "question": "which food is cheap", "answer": "bad food"},
]


def run_cli(argv: list[str]) -> int:
    """``serve-judge`` as the CLI parses it, without ``main``'s logging set-up (it would outlive the test)."""
    parser = argparse.ArgumentParser()
    serve_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return make_toy_judge(tmp_path_factory.mktemp("ray-serve") / "runs", tiny_model_dir)


def in_process_probabilities(judge_dir: Path) -> list[float]:
    with TestClient(create_app(load_judge(judge_dir), SETTINGS)) as client:
        body = client.post("/v1/judge", json={"items": ITEMS}, headers=AUTH).json()
    return [r["probability"] for r in body["results"]]


def listening_hosts(port: int) -> set[str]:
    return {c.laddr.ip for c in psutil.net_connections(kind="inet") if c.status == "LISTEN" and c.laddr.port == port}


def test_no_keys_and_a_public_host_is_refused_before_ray_is_touched() -> None:
    with pytest.raises(InsecureBindingError):
        deploy_judge(JudgeSource("unused"), ServerSettings(), host="0.0.0.0")


def test_replica_options_are_checked() -> None:
    for bad in ({"num_replicas": 0}, {"num_cpus": -1}, {"max_ongoing_requests": 0}):
        with pytest.raises(ValueError):
            ReplicaOptions(**bad)


def test_cli_hands_ray_serve_the_judge_without_loading_it_here(monkeypatch, tmp_path) -> None:
    seen = {}

    def fake_serve_with_ray(args, settings) -> int:
        seen.update(args=args, settings=settings)
        return 0

    def no_load(*args, **kwargs):
        raise AssertionError("the replicas load the judge, not the CLI process")

    monkeypatch.setenv("W2S_JUDGE_API_KEYS", KEY)
    monkeypatch.setattr(serve_cli, "serve_with_ray", fake_serve_with_ray)
    monkeypatch.setattr("labeling.serve.judge_loader.load_judge", no_load)
    monkeypatch.setattr(serve_cli, "load_judge", no_load)
    argv = ["serve-judge", "--judge", str(tmp_path), "--ray-serve-replicas", "3", "--ray-cpus-per-replica", "0.5"]
    assert run_cli([*argv, "--max-batch", "4"]) == 0
    assert seen["args"].ray_serve.replicas == 3 and seen["args"].ray_serve.cpus_per_replica == 0.5
    assert seen["settings"].api_keys == frozenset({KEY}) and seen["settings"].max_batch == 4


def test_cli_refuses_debaters_with_ray_serve(tmp_path) -> None:
    argv = ["serve-judge", "--judge", str(tmp_path), "--ray-serve-replicas", "2", "--debater-url", "http://127.0.0.1:9"]
    with pytest.raises(ValueError, match="serves judges only"):  # `main` prints it and exits 2
        run_cli([*argv, "--debater-model", "m"])


def test_cli_serves_until_sigterm_then_shuts_serve_down(monkeypatch, tmp_path) -> None:
    import ray
    from ray import serve

    import labeling.serve.ray_serve as ray_serve

    calls = []

    def fake_deploy(source, settings, options, *, host, port) -> str:
        calls.append(("deploy", source, options, host, port))
        signal.raise_signal(signal.SIGTERM)  # handled by the CLI's handler: stop after this deploy
        return f"http://{host}:{port}"

    monkeypatch.setattr(ray, "is_initialized", lambda: True)  # as if Ray were up: the CLI starts none
    monkeypatch.setattr(serve_cli, "deploy_judge", fake_deploy)
    monkeypatch.setattr(serve, "shutdown", lambda: calls.append(("shutdown",)))
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        argv = ["serve-judge", "--judge", str(tmp_path), "--ray-serve-replicas", "2", "--port", "8123"]
        assert run_cli(argv) == 0
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    (_, source, options, host, port), shutdown = calls
    assert source == JudgeSource(str(tmp_path)) and options.num_replicas == 2
    assert (host, port) == ("127.0.0.1", 8123) and shutdown == ("shutdown",)


@pytest.mark.real  # starts Ray Serve and two replica processes (~40 s on a busy 2-core CPU)
def test_two_replicas_answer_like_the_in_process_app(ray_session, judge_dir, free_port) -> None:
    from ray import serve

    expected = in_process_probabilities(judge_dir)
    port = free_port()
    try:
        url = deploy_judge(
            JudgeSource(str(judge_dir)), SETTINGS, ReplicaOptions(num_replicas=2, num_cpus=0.5), port=port
        )
        assert url == f"http://127.0.0.1:{port}"
        assert replica_states() == {"RUNNING": 2}
        assert listening_hosts(port) == {"127.0.0.1"}
        with httpx.Client(base_url=url, timeout=60, trust_env=False) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            refused = http.post("/v1/judge", json={"items": ITEMS})
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert http.get("/v1/models").status_code == 401
            assert http.post("/v1/judge", json={"items": []}, headers=AUTH).status_code == 422

            def ask(_: int) -> list[float]:
                response = http.post("/v1/judge", json={"items": ITEMS}, headers=AUTH)
                assert response.status_code == 200, response.text
                return [r["probability"] for r in response.json()["results"]]

            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(ask, range(8)))
            for served in answers:
                np.testing.assert_allclose(served, expected, atol=1e-6)
            card = http.get("/v1/models", headers=AUTH).json()["data"][0]
            assert card["id"] == judge_dir.name
    finally:
        serve.shutdown()
