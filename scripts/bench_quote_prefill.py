"""Does a small debater quote the hidden passage, and do its quotes point at the right answer? (not a test)

Runs one protocol over SciQ items that have a support paragraph (the hidden passage) with the real
packaged SmolLM2-135M-Instruct in vLLM, once per configuration: the prefilled quote opening off or
on (``run_protocol(quote_prefill=...)``), each with quotes counted from ``<quote>`` tags only or
also from verbatim runs of at least K passage words (``quote_span_words``), and the constrained
quote pick (``quote_pick``: every turn opens with one passage sentence the model chooses). Per
configuration and arguing side it prints the share of turns with at least one verified quote,
verified words per turn, quotes per turn and the verified share of quotes
(``labeling.stages.transcripts.quote_stats``: the numbers a run's manifest reports), the share of
turns that open with a verified quote, the share of turns whose verified quotes contain the item's
candidate answer on items where it is correct and where it is a distractor (the label information
the quotes carry), and the seconds the configuration took. Example (vLLM-CPU)::

    VLLM_CPU_KVCACHE_SPACE=2 VLLM_CPU_NUM_OF_RESERVED_CPU=0 \\
        .venv/bin/python scripts/bench_quote_prefill.py --items 100 --protocol single_critique
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

SCIQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "sciq"


def load_evidence_items(n: int, source: Path) -> list[Any]:
    """The first ``n`` SciQ train items that have a support paragraph, as DebateItems with ``evidence``."""
    from debate import DebateItem
    from labeling.data.registry import load_rows

    rows = load_rows("sciq", source=source, split="train", limit=2 * n + 50)
    items = [DebateItem(item_id=r["id"], question=r["question"], answer=r["answer"], evidence=r["evidence"])
             for r in rows if r["evidence"]]
    if len(items) < n:
        raise SystemExit(f"only {len(items)} items with a passage among the first {len(rows)} rows")
    return items[:n]


def gold_labels(items: Sequence[Any], source: Path) -> dict[str, int]:
    """Gold label per item id (1: the candidate answer is correct), for scoring quotes only."""
    from labeling.data.registry import load_rows

    wanted = {item.item_id for item in items}
    rows = load_rows("sciq", source=source, split="train", limit=2 * len(items) + 50)
    return {r["id"]: int(r["label"]) for r in rows if r["id"] in wanted}


def candidate_in_verified_quote(turn: Any, answer: str) -> bool:
    """True when one of the turn's verified quotes contains the candidate answer (normalized)."""
    import re

    from debate.quotes import normalize

    needle = f" {normalize(answer)} "
    quotes = re.findall(r"<v_quote>(.*?)</v_quote>", turn.text, flags=re.DOTALL)
    return any(needle in f" {normalize(q)} " for q in quotes)


def configurations(span_words: int) -> list[tuple[str, bool, int | None, bool]]:
    """(name, quote_prefill, quote_span_words, quote_pick) of every configuration measured."""
    return [
        ("tags only, no prefill", False, None, False),
        ("tags only, prefill", True, None, False),
        (f"span>={span_words}, no prefill", False, span_words, False),
        (f"span>={span_words}, prefill", True, span_words, False),
        ("picked sentence", False, None, True),
    ]


def candidate_shares(turns: Sequence[Any], answers: dict[str, str], gold: dict[str, int]) -> dict[str, float]:
    """Share of turns whose verified quotes contain the candidate: on correct items, on distractors."""
    shares = {}
    for name, label in (("candidate_quoted_correct_items", 1), ("candidate_quoted_distractors", 0)):
        chosen = [(item_id, turn) for item_id, turn in turns if gold[item_id] == label]
        hits = sum(candidate_in_verified_quote(turn, answers[item_id]) for item_id, turn in chosen)
        shares[name] = hits / max(len(chosen), 1)
    return shares


def config_rows(name: str, transcripts: Sequence[Any], seconds: float, items: Sequence[Any],
                gold: dict[str, int]) -> list[dict[str, Any]]:
    """One table row per arguing side of one configuration's transcripts."""
    from labeling.stages.transcripts import quote_stats

    answers = {item.item_id: item.answer for item in items}
    turns = [turn for t in transcripts for turn in t.turns]
    rows = []
    for side, stats in quote_stats(turns).items():
        mine = [turn for turn in turns if turn.stance == side]
        by_item = [(t.item_id, turn) for t in transcripts for turn in t.turns if turn.stance == side]
        opens = sum(turn.text.startswith("<v_quote>") for turn in mine) / len(mine)
        rows.append({"config": name, "side": side, **stats, "opens_with_verified_quote": opens,
                     **candidate_shares(by_item, answers, gold),
                     "completion_tokens_per_turn": sum(t.completion_tokens for t in mine) / len(mine),
                     "seconds": seconds})
    return rows


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """The measured rows as a fixed-width table."""
    header = (f"{'configuration':<26} {'side':<9} {'turns':>5} {'>=1 verified':>12} {'verified words':>14} "
              f"{'quotes':>6} {'verified share':>14} {'opens verified':>14} {'cand. quoted +':>14} "
              f"{'cand. quoted -':>14} {'tokens':>6} {'seconds':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['config']:<26} {r['side']:<9} {r['turns']:>5} {r['turns_with_a_verified_quote']:>12.1%} "
              f"{r['verified_words_per_turn']:>14.2f} {r['quotes_per_turn']:>6.2f} {r['verified_share']:>14.1%} "
              f"{r['opens_with_verified_quote']:>14.1%} {r['candidate_quoted_correct_items']:>14.1%} "
              f"{r['candidate_quoted_distractors']:>14.1%} {r['completion_tokens_per_turn']:>6.1f} {r['seconds']:>7.0f}")


def show_examples(transcripts: Sequence[Any], n: int) -> None:
    """Print the checked turns of the first ``n`` transcripts (what the judge would read)."""
    for transcript in transcripts[:n]:
        for turn in transcript.turns:
            print(f"  [{transcript.item_id} {turn.speaker}/{turn.stance}] {turn.text!r}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct")
    parser.add_argument("--source", type=Path, default=SCIQ, help="local SciQ folder")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--protocol", default="single_critique")
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--word-limit", type=int, default=30)
    parser.add_argument("--span-words", type=int, default=5, help="K of quote_span_words in the span rows")
    parser.add_argument("--seed", type=int, default=0, help="debate seed (stances and request seeds)")
    parser.add_argument("--dtype", default="float32", help="vLLM engine precision")
    parser.add_argument("--only", default="", help="comma-separated configuration numbers to run (1-5; default all)")
    parser.add_argument("--examples", type=int, default=2, help="transcripts to print per configuration")
    parser.add_argument("--json", help="also write the rows here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build one engine, run every configuration on the same items and seed, print the table."""
    args = parse_args(argv)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    from debate import SamplingConfig, VLLMChatBackend, get_protocol, run_protocol
    from labeling.exec.hardware import cpu_model_name
    from labeling.store import resolve_model

    items = load_evidence_items(args.items, args.source)
    gold = gold_labels(items, args.source)
    protocol = replace(get_protocol(args.protocol), word_limit=args.word_limit)
    sampling = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=args.max_tokens)
    started = time.perf_counter()
    backend = VLLMChatBackend(resolve_model(args.model), model_id=args.model, dtype=args.dtype)
    print(f"CPU: {cpu_model_name()}, {os.cpu_count()} cores; engine ({args.dtype}) up in "
          f"{time.perf_counter() - started:.0f} s; {len(items)} items, {args.protocol}, max_tokens "
          f"{args.max_tokens}, word_limit {args.word_limit}, seed {args.seed}", flush=True)
    chosen = {int(k) for k in args.only.split(",") if k}
    rows: list[dict[str, Any]] = []
    for number, (name, prefill, span, pick) in enumerate(configurations(args.span_words), start=1):
        if chosen and number not in chosen:
            continue
        backend._llm.reset_prefix_cache()
        started = time.perf_counter()
        transcripts = run_protocol(items, protocol, backend, seed=args.seed, sampling=sampling,
                                   quote_span_words=span, quote_prefill=prefill, quote_pick=pick)
        rows += config_rows(name, transcripts, time.perf_counter() - started, items, gold)
        print(f"{name}: {rows[-1]['seconds']:.0f} s; examples:", flush=True)
        show_examples(transcripts, args.examples)
    backend.close()
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
