"""The real server process: uvicorn on loopback, the client, and SIGTERM under load."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from labeling.serve.client import JudgeClient, JudgeClientError
from labeling.serve.toy_judge import make_toy_judge

KEY = "proc-key-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]
ITEMS = [{"question": f"what type of energy is water {i}", "answer": "the good answer"} for i in range(8)]


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return make_toy_judge(tmp_path_factory.mktemp("proc") / "runs", tiny_model_dir)


def start_server(judge_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "W2S_JUDGE_API_KEYS": KEY, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "labeling.serve.commands", "serve-judge", "--judge", str(judge_dir),
            "--port", str(port), "--graceful-timeout", "20"]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited early ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        if JudgeClient(f"http://127.0.0.1:{port}", KEY, timeout=2).health():
            return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"server did not come up:\n{log_path.read_text()[-3000:]}")


def test_client_and_sigterm_during_load(judge_dir, tmp_path, monkeypatch, capsys, free_port) -> None:
    port = free_port()
    log_path = tmp_path / "server.log"
    proc = start_server(judge_dir, port, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        with JudgeClient(url, KEY) as client:
            answer = client.judge(ITEMS[:2])
            assert [0.0 <= r["probability"] <= 1.0 for r in answer["results"]] == [True, True]
            assert client.models()["data"][0]["id"] == judge_dir.name
        with JudgeClient(url, "wrong-key-0123456789abcdef") as bad, pytest.raises(JudgeClientError) as err:
            bad.judge(ITEMS[:1])
        assert err.value.status == 401
        from labeling.serve.commands import main as cli

        monkeypatch.setenv("W2S_JUDGE_API_KEY", KEY)
        capsys.readouterr()
        assert cli(["judge", "--url", url, "--question", "what is water", "--answer", "energy"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert len(printed["results"]) == 1 and printed["model"] == judge_dir.name

        outcomes: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + 30

        def hammer() -> None:
            # A fresh connection per request: a refused connection means "not accepted", anything
            # else that is not a 200 would be a request the server accepted and then lost.
            while time.monotonic() < stop_at:
                try:
                    response = httpx.post(f"{url}/v1/judge", json={"items": ITEMS},
                                          headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
                    outcome = str(response.status_code)
                except httpx.ConnectError:
                    outcome = "refused"
                except httpx.ReadError as exc:
                    # reset while still in the kernel's accept queue when the listening socket
                    # closed; the access-log count below proves the server never took it
                    outcome = "reset" if "reset" in str(exc).lower() else f"lost: {exc}"
                except httpx.RemoteProtocolError as exc:
                    # uvicorn closes connections whose request it has not read yet when it stops
                    closed = "without sending a response" in str(exc)
                    outcome = "closed unread" if closed else f"lost: {exc}"
                except httpx.HTTPError as exc:
                    outcome = f"lost: {type(exc).__name__}: {exc}"
                with lock:
                    outcomes.append(outcome)
                if outcome == "refused":
                    return

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        served_before = outcomes.count("200")
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=60)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    log = log_path.read_text()
    assert served_before > 0
    bad = [o for o in outcomes if o not in ("200", "refused", "reset", "closed unread")]
    assert not bad, f"{bad[:5]} of {len(outcomes)}\n{log[-2000:]}"
    # the server answered every request it received, and each 200 it sent reached its client
    received, answered_all = map(int, re.search(r"(\d+) requests received, (\d+) answered", log).groups())
    assert received == answered_all
    answered = log.count('"POST /v1/judge HTTP/1.1" 200')
    assert answered == outcomes.count("200") + 2  # + the client and CLI calls before the load
    assert outcomes.count("refused") == 8  # every worker saw the server close, none hung
    assert "judge server stopped cleanly" in log and "Traceback" not in log
    assert "Cancel" not in log  # nothing in flight was cut off by the graceful timeout
