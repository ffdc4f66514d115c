"""``w2s serve-judge`` (uvicorn or Ray Serve, graceful shutdown) and ``w2s judge`` (the client on the command line).

``serve-judge`` loads a ``ServeConfig`` (``labeling.serve.config``) like ``w2s run`` loads its
experiment: an optional YAML file, flags that are shorthands for its keys, then ``--set``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from debate import VLLMChatBackend
from debate.backends.openai_http import OpenAIChatBackend

from labeling.config import add_config_args, load_from_args
from labeling.data.records import not_utf8
from labeling.exec.threads import available_cores
from labeling.serve.app import create_app
from labeling.serve.client import JudgeClient, JudgeClientError
from labeling.serve.config import SERVE_FLAGS, DebaterSettings, HttpSettings, ServeConfig
from labeling.serve.judge_loader import JudgeLoadError, load_judge
from labeling.serve.ray_serve import JudgeSource, ReplicaOptions, deploy_judge
from labeling.serve.redact import redact_access_log
from labeling.serve.settings import (
    InsecureBindingError,
    ServerSettings,
    ensure_port_free,
    ensure_safe_binding,
    load_api_keys,
    read_key_file,
)

log = logging.getLogger("w2s.serve")

DEBATER_KEY_ENV = "W2S_DEBATER_API_KEY"


def build_debate_backend(debater: DebaterSettings) -> Any:
    """The strong model's chat backend the config names, or None."""
    if debater.url:
        return OpenAIChatBackend(debater.url, debater.model, api_key=os.environ.get(DEBATER_KEY_ENV),
                                 max_concurrency=debater.concurrency)
    if debater.model_path:
        return VLLMChatBackend(debater.model_path)
    return None


def server_settings(cfg: ServeConfig) -> ServerSettings:
    """The server's limits with its API keys (environment and key file) and the judge's threads."""
    keys = load_api_keys(cfg.http.api_key_file)
    ensure_safe_binding(cfg.http.host, keys)  # before the (slow) model load
    ensure_port_free(cfg.http.host, cfg.http.port)
    threads = available_cores() if cfg.judge.threads == "auto" else cfg.judge.threads
    return cfg.limits.to_library(api_keys=keys, threads=threads)


def uvicorn_config(app: Any, http: HttpSettings) -> Any:
    """uvicorn's settings for the judge app; its access log shows request paths without query strings."""
    import uvicorn

    config = uvicorn.Config(app, host=http.host, port=http.port, timeout_graceful_shutdown=http.graceful_timeout,
                            limit_concurrency=http.limit_concurrency, server_header=False, log_level="info")
    redact_access_log()  # after uvicorn.Config, which (re)configures its loggers
    return config


def serve_judge(cfg: ServeConfig) -> int:
    """Load the judge and serve it until SIGTERM/SIGINT; in-flight requests finish first."""
    import uvicorn

    settings = server_settings(cfg)
    if cfg.ray_serve.replicas:
        return serve_with_ray(cfg, settings)
    judge = load_judge(cfg.judge.path, protocol=cfg.judge.protocol, training_seed=cfg.judge.training_seed,
                       dtype=cfg.judge.dtype, classify_urls=cfg.judge.classify_urls)
    backend = build_debate_backend(cfg.debater)
    if backend is not None and judge.debate is None:
        raise ValueError(f"judge {judge.judge_id} reads no transcripts; serve a debate judge to enable debates")
    app = create_app(judge, settings, debate_backend=backend)
    http = cfg.http
    config = uvicorn_config(app, http)
    # uvicorn re-raises the signal it stopped on after a clean shutdown; with these no-op
    # handlers in place that re-raise is harmless and a graceful stop exits with status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    auth = "on" if settings.api_keys else "off"
    log.info("serving %s on http://%s:%d (auth %s)", judge.judge_id, http.host, http.port, auth)
    uvicorn.Server(config).run()
    return 0


def serve_with_ray(cfg: ServeConfig, settings: ServerSettings) -> int:
    """Serve the judge on Ray Serve replicas until SIGTERM/SIGINT.

    Joins ``ray_serve.address`` or starts a local Ray; on a signal, Serve lets in-flight requests
    finish (up to ``http.graceful_timeout``), then Serve and a Ray started here shut down.
    """
    import ray
    from ray import serve

    options = ReplicaOptions(num_replicas=cfg.ray_serve.replicas, num_cpus=cfg.ray_serve.cpus_per_replica,
                             graceful_shutdown_timeout_s=cfg.http.graceful_timeout)
    source = JudgeSource(cfg.judge.path, protocol=cfg.judge.protocol, training_seed=cfg.judge.training_seed,
                         dtype=cfg.judge.dtype)
    owns_ray = not ray.is_initialized()
    if owns_ray:
        local = {} if cfg.ray_serve.address else {"include_dashboard": False}
        ray.init(address=cfg.ray_serve.address, log_to_driver=True, **local)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        url = deploy_judge(source, settings, options, host=cfg.http.host, port=cfg.http.port)
        log.info("serving %s on %s with %d Ray Serve replicas", cfg.judge.path, url, options.num_replicas)
        while not stop.wait(1.0):
            pass
        log.info("stopping the Ray Serve judge")
    finally:
        serve.shutdown()
        if owns_ray:
            ray.shutdown()
    return 0


def cmd_serve_judge(args: argparse.Namespace) -> int:
    """Load the judge and serve it until SIGTERM/SIGINT; in-flight requests finish first."""
    return serve_judge(load_from_args(ServeConfig, args, SERVE_FLAGS))


def read_items_file(path: Path) -> list[dict[str, Any]]:
    """Items from a JSON list or JSON-lines file; bad UTF-8 or JSON is an error naming the file and line."""
    if not path.is_file():
        raise ValueError(f"--items: {path} " + ("is a folder, not a file" if path.is_dir() else "does not exist"))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    try:
        if text.lstrip().startswith("["):
            items = json.loads(text)
        else:
            items = []
            for number, line in enumerate(text.split("\n"), start=1):
                if line.strip():
                    try:
                        items.append(json.loads(line))
                    except json.JSONDecodeError as err:
                        raise ValueError(f"{path}: line {number}: invalid JSON: {err.msg}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: line {err.lineno}: invalid JSON: {err.msg}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(f"{path} must hold a JSON list of objects or one object per line")
    return items


def _read_items(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Items from --items (JSON list or JSON lines) or from --question/--answer."""
    if args.items:
        return read_items_file(Path(args.items))
    if args.question is None or args.answer is None:
        raise ValueError("give --items FILE, or --question and --answer")
    item: dict[str, Any] = {"question": args.question, "answer": args.answer}
    if args.transcript_file:
        path = Path(args.transcript_file)
        if not path.is_file():
            raise ValueError(f"--transcript-file: {path} " + ("is a folder, not a file" if path.is_dir() else "does not exist"))
        try:
            item["transcript"] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise not_utf8(path) from None
    return [item]


def cmd_judge(args: argparse.Namespace) -> int:
    """Send items to a running judge server and print its JSON answer."""
    key = None
    if args.api_key_file:
        keys = sorted(read_key_file(args.api_key_file))
        key = keys[0] if keys else None
    with JudgeClient(args.url, key, timeout=args.timeout) as client:
        try:
            answer = client.judge(_read_items(args), debate=args.debate)
        except JudgeClientError as exc:
            # 4xx: the request or key is the user's to fix (exit 2); 5xx: the server failed (exit 1)
            print(f"error: {exc}", file=sys.stderr)
            return 2 if exc.status < 500 else 1
    print(json.dumps(answer, indent=2))
    return 0


def positive_seconds(text: str) -> float:
    """A timeout flag's value: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 seconds, got {text}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``serve-judge`` and ``judge`` to the ``w2s`` sub-command parsers."""
    serve = sub.add_parser(
        "serve-judge", help="serve a trained judge over HTTP", description=cmd_serve_judge.__doc__,
        epilog="Every flag sets the config key in brackets; --set reaches any key of the serve config.",
    )
    add_config_args(serve, SERVE_FLAGS, optional=True)
    serve.set_defaults(func=cmd_serve_judge)
    judge = sub.add_parser("judge", help="ask a running judge server", description=cmd_judge.__doc__)
    judge.add_argument("--url", default="http://127.0.0.1:8000")
    judge.add_argument("--api-key-file", default=None, help="default: $W2S_JUDGE_API_KEY")
    judge.add_argument("--items", default=None, help="JSON list or JSON-lines file of {question, answer, transcript?}")
    judge.add_argument("--question")
    judge.add_argument("--answer")
    judge.add_argument("--transcript-file", default=None)
    judge.add_argument("--debate", action="store_true", help="let the server run a debate first")
    judge.add_argument("--timeout", type=positive_seconds, default=120.0, help="seconds to wait for the answer")
    judge.set_defaults(func=cmd_judge)


def main(argv: list[str] | None = None) -> int:
    """``python -m labeling.serve.commands serve-judge|judge ...`` (the same commands as ``w2s``)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    parser = argparse.ArgumentParser(prog="python -m labeling.serve.commands")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return args.func(args)
    except (InsecureBindingError, JudgeLoadError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
