"""``w2s serve-judge`` (uvicorn or Ray Serve, graceful shutdown) and ``w2s judge`` (the client on the command line)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeling.exec.threads import available_cores, positive_int_or_auto

if TYPE_CHECKING:
    from labeling.serve.settings import ServerSettings

log = logging.getLogger("w2s.serve")

DEBATER_KEY_ENV = "W2S_DEBATER_API_KEY"


def add_serve_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``serve-judge``."""
    from labeling.serve.settings import ServerSettings

    d = ServerSettings()
    parser.add_argument("--judge", required=True, help="a judge stage folder or a results folder with manifest.json")
    parser.add_argument("--protocol", default=None, help="which protocol's judges to serve from a results folder")
    parser.add_argument("--training-seed", type=int, default=0, help="which training seed's judges (results folder)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (non-loopback needs API keys)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key-file", default=None, help="file with one API key per line (mode 600)")
    debater = parser.add_mutually_exclusive_group()
    debater.add_argument("--debater-url", default=None, help="OpenAI-compatible base URL of the strong model")
    debater.add_argument("--debater-model-path", default=None, help="run the strong model in-process with vLLM")
    parser.add_argument("--debater-model", default=None, help="model name to request from --debater-url")
    parser.add_argument("--debater-concurrency", type=int, default=8, help="parallel HTTP requests to the debater")
    parser.add_argument("--max-batch", type=int, default=d.max_batch, help="texts per forward pass (1 = no batching)")
    parser.add_argument("--max-wait-ms", type=float, default=d.max_wait_ms, help="how long a batch waits to fill")
    parser.add_argument("--max-items", type=int, default=d.max_items, help="items per request")
    parser.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes)
    parser.add_argument("--max-transcript-chars", type=int, default=d.max_transcript_chars)
    parser.add_argument("--threads", type=positive_int_or_auto, default="auto",
                        help="torch threads for the judge (default auto: the cores this process may use)")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"],
                        help="judge precision (default auto: as trained where the hardware runs it natively, else fp32)")
    parser.add_argument("--graceful-timeout", type=float, default=30.0, help="seconds in-flight requests get on SIGTERM")
    parser.add_argument("--limit-concurrency", type=int, default=512, help="open connections before 503s")
    parser.add_argument(
        "--classify-url", action="append", metavar="URL",
        help="score with a vLLM pooling server (`--runner pooling`) serving the judge's model/; once per ensemble member",
    )
    ray_group = parser.add_argument_group("Ray Serve (scale out over several replicas instead of one uvicorn)")
    ray_group.add_argument(
        "--ray-serve-replicas", type=int, default=0, help="serve through Ray Serve with this many replicas (0: uvicorn)"
    )
    ray_group.add_argument("--ray-cpus-per-replica", type=float, default=1.0, help="CPUs each replica reserves")
    ray_group.add_argument("--ray-address", default=None, help="join this Ray cluster (default: start a local Ray)")


def build_debate_backend(args: argparse.Namespace) -> Any:
    """The strong model's chat backend named on the command line, or None."""
    if args.debater_url:
        if not args.debater_model:
            raise ValueError("--debater-url needs --debater-model (the model name the server knows)")
        from debate.backends.openai_http import OpenAIChatBackend  # written alongside; imported lazily

        return OpenAIChatBackend(
            args.debater_url,
            args.debater_model,
            api_key=os.environ.get(DEBATER_KEY_ENV),
            max_concurrency=args.debater_concurrency,
        )
    if args.debater_model_path:
        from debate import VLLMChatBackend

        return VLLMChatBackend(args.debater_model_path)
    return None


def cmd_serve_judge(args: argparse.Namespace) -> int:
    """Load the judge and serve it until SIGTERM/SIGINT; in-flight requests finish first."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bar per forward pass (read at tqdm import)
    import uvicorn

    from labeling.serve.app import create_app
    from labeling.serve.judge_loader import load_judge
    from labeling.serve.settings import ServerSettings, ensure_safe_binding, load_api_keys

    keys = load_api_keys(args.api_key_file)
    ensure_safe_binding(args.host, keys)  # before the (slow) model load
    settings = ServerSettings(
        api_keys=keys,
        max_body_bytes=args.max_body_bytes,
        max_items=args.max_items,
        max_transcript_chars=args.max_transcript_chars,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        threads=available_cores() if args.threads == "auto" else args.threads,
    )
    if args.ray_serve_replicas:
        return serve_with_ray(args, settings)
    judge = load_judge(
        args.judge, protocol=args.protocol, training_seed=args.training_seed, dtype=args.dtype,
        classify_urls=args.classify_url or (),
    )
    backend = build_debate_backend(args)
    if backend is not None and judge.debate is None:
        raise ValueError(f"judge {judge.judge_id} reads no transcripts; serve a debate judge to enable debates")
    app = create_app(judge, settings, debate_backend=backend)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        timeout_graceful_shutdown=args.graceful_timeout,
        limit_concurrency=args.limit_concurrency,
        server_header=False,
        log_level="info",
    )
    # uvicorn re-raises the signal it stopped on after a clean shutdown; with these no-op
    # handlers in place that re-raise is harmless and a graceful stop exits with status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    log.info("serving %s on http://%s:%d (auth %s)", judge.judge_id, args.host, args.port, "on" if keys else "off")
    uvicorn.Server(config).run()
    return 0


def serve_with_ray(args: argparse.Namespace, settings: "ServerSettings") -> int:
    """Serve the judge on ``--ray-serve-replicas`` Ray Serve replicas until SIGTERM/SIGINT.

    Joins ``--ray-address`` or starts a local Ray; on a signal, Serve lets in-flight requests
    finish (up to ``--graceful-timeout``), then Serve and a Ray started here shut down.
    """
    import threading

    import ray
    from ray import serve

    from labeling.serve.ray_serve import JudgeSource, ReplicaOptions, deploy_judge

    if args.debater_url or args.debater_model_path:
        raise ValueError("--ray-serve-replicas serves judges only; drop the --debater-* options to use it")
    if args.classify_url:
        raise ValueError("--ray-serve-replicas loads the judge in each replica; drop --classify-url to use it")
    options = ReplicaOptions(
        num_replicas=args.ray_serve_replicas,
        num_cpus=args.ray_cpus_per_replica,
        graceful_shutdown_timeout_s=args.graceful_timeout,
    )
    source = JudgeSource(args.judge, protocol=args.protocol, training_seed=args.training_seed, dtype=args.dtype)
    owns_ray = not ray.is_initialized()
    if owns_ray:
        local = {} if args.ray_address else {"include_dashboard": False}
        ray.init(address=args.ray_address, log_to_driver=True, **local)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        url = deploy_judge(source, settings, options, host=args.host, port=args.port)
        log.info("serving %s on %s with %d Ray Serve replicas", args.judge, url, options.num_replicas)
        while not stop.wait(1.0):
            pass
        log.info("stopping the Ray Serve judge")
    finally:
        serve.shutdown()
        if owns_ray:
            ray.shutdown()
    return 0


def _read_items(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Items from --items (JSON list or JSON lines) or from --question/--answer."""
    if args.items:
        text = Path(args.items).read_text()
        stripped = text.lstrip()
        items = json.loads(text) if stripped.startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError(f"{args.items} must hold a JSON list of objects or one object per line")
        return items
    if args.question is None or args.answer is None:
        raise ValueError("give --items FILE, or --question and --answer")
    item: dict[str, Any] = {"question": args.question, "answer": args.answer}
    if args.transcript_file:
        item["transcript"] = Path(args.transcript_file).read_text()
    return [item]


def cmd_judge(args: argparse.Namespace) -> int:
    """Send items to a running judge server and print its JSON answer."""
    from labeling.serve.client import JudgeClient, JudgeClientError
    from labeling.serve.settings import read_key_file

    key = None
    if args.api_key_file:
        keys = sorted(read_key_file(args.api_key_file))
        key = keys[0] if keys else None
    with JudgeClient(args.url, key, timeout=args.timeout) as client:
        try:
            answer = client.judge(_read_items(args), debate=args.debate)
        except JudgeClientError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(answer, indent=2))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``serve-judge`` and ``judge`` to the ``w2s`` sub-command parsers."""
    serve = sub.add_parser("serve-judge", help="serve a trained judge over HTTP", description=cmd_serve_judge.__doc__)
    add_serve_args(serve)
    serve.set_defaults(func=cmd_serve_judge)
    judge = sub.add_parser("judge", help="ask a running judge server", description=cmd_judge.__doc__)
    judge.add_argument("--url", default="http://127.0.0.1:8000")
    judge.add_argument("--api-key-file", default=None, help="default: $W2S_JUDGE_API_KEY")
    judge.add_argument("--items", default=None, help="JSON list or JSON-lines file of {question, answer, transcript?}")
    judge.add_argument("--question")
    judge.add_argument("--answer")
    judge.add_argument("--transcript-file", default=None)
    judge.add_argument("--debate", action="store_true", help="let the server run a debate first")
    judge.add_argument("--timeout", type=float, default=120.0)
    judge.set_defaults(func=cmd_judge)


def main(argv: list[str] | None = None) -> int:
    """``python -m labeling.serve.commands serve-judge|judge ...`` (the same commands as ``w2s``)."""
    from labeling.serve.judge_loader import JudgeLoadError
    from labeling.serve.settings import InsecureBindingError

    os.environ.setdefault("TQDM_DISABLE", "1")
    parser = argparse.ArgumentParser(prog="python -m labeling.serve.commands")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return args.func(args)
    except (InsecureBindingError, JudgeLoadError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
