"""Stage 2: transcripts for every (protocol, debate seed), generated on Ray actors.

Each (protocol, seed) has its own stage folder keyed by what changes its transcripts
(the items, protocol, seed, debater model, sampling, engine precision, prompt version).
All unfinished shards of all pairs go to one Ray session, so each actor loads its
engine once. A local Ray runs in a child process inside a private network namespace
when the machine needs it (see ``netns``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from debate import PROMPT_VERSION, Transcript, get_protocol

from labeling.config import ExperimentConfig
from labeling.data.stage import Splits, data_semantic
from labeling.exec.backends import BackendSpec, vllm_backend_spec
from labeling.exec.hardware import engine_dtype
from labeling.exec.shards import ShardTask, plan_shards, read_shards, run_on_ray
from labeling.stages.debate_shards import DEBATE_SHARDS, debate_params
from labeling.store import StageDir, atomic_write_parquet, stage_dir, without_later_defaults

log = logging.getLogger(__name__)

SWAPPED_SPLIT = "test"  # the split whose debates are also run with A/B swapped


def debater_backend_spec(cfg: ExperimentConfig) -> BackendSpec:
    """The in-process vLLM backend for the configured debater."""
    return vllm_backend_spec(cfg.models.debater.path, cfg.debate.engine, cfg.ray.num_gpus_per_actor)


def debate_engine_dtype(cfg: ExperimentConfig) -> str:
    """The debate engines' dtype on their device (``auto`` resolved for the machine, logged once)."""
    return engine_dtype(cfg.debate.engine.dtype, cfg.ray.num_gpus_per_actor)


def debated_protocols(cfg: ExperimentConfig) -> list[str]:
    """Protocols that produce transcripts (all but ``none``)."""
    return [p for p in cfg.debate.protocols if p != "none"]


def needs_weak_picks(protocol: str) -> bool:
    """True for protocols whose stances depend on the weak judge's no-transcript pick."""
    return get_protocol(protocol).stance_rule == "against_weak_pick"


def swappable(protocol: str) -> bool:
    """True for protocols with two debaters on randomly dealt stances (A/B can be swapped)."""
    spec = get_protocol(protocol)
    return len(spec.speakers) == 2 and spec.stance_rule == "random"


def transcript_runs(cfg: ExperimentConfig) -> list[tuple[str, int, bool]]:
    """Every transcripts stage a run makes, as (protocol, debate seed, swapped), in the order they are run.

    Each debated protocol gets its debate seeds (``debate.seeds_for``); with ``debate.swap_positions``
    a two-debater protocol's first seed is also run A/B-swapped, on the test items only (position bias).
    ``w2s plan`` counts the same list.
    """
    runs = []
    for protocol in debated_protocols(cfg):
        for seed in cfg.debate.seeds_for(protocol):
            swap = cfg.debate.swap_positions and swappable(protocol) and seed == cfg.debate.seeds[0]
            runs += [(protocol, seed, swapped) for swapped in ([False, True] if swap else [False])]
    return runs


# Debate settings added after transcript folders were first named, at the value that debates as
# before: there they stay out of the key (``w2s run`` stages and ``w2s label`` folders), so old folders keep their hash.
LATER_DEBATE_DEFAULTS = {"quote_prefill": False, "passage_to_debaters": True, "quote_pick": False, "block_size": None}


def transcript_semantic(
    cfg: ExperimentConfig, protocol: str, seed: int, picks_from: str | None = None, *, swapped: bool = False,
    data: dict | None = None, dtype: str | None = None,
) -> dict:
    """What the stage folder of one (protocol, seed) is keyed by (see ``transcript_stage``).

    ``data`` and ``dtype`` default to this machine's (the data files' fingerprint, ``auto`` resolved);
    ``w2s plan`` passes stand-ins from the config, which are equal wherever the real ones are.
    """
    semantic = without_later_defaults({
        **(data_semantic(cfg) if data is None else data),
        "protocol": protocol,
        "seed": seed,
        "debater": cfg.models.debater.model_dump(mode="json"),
        "sampling": cfg.debate.sampling.model_dump(mode="json"),
        "word_limit": cfg.debate.word_limit,
        "dtype": debate_engine_dtype(cfg) if dtype is None else dtype,
        "max_model_len": cfg.debate.engine.max_model_len,
        # the KV block size changes bf16 turns (kernel numerics), not fp32 ones; keyed so shards never mix
        "block_size": cfg.debate.engine.block_size,
        "shard_size": cfg.debate.shard_size,
        "prompt_version": PROMPT_VERSION,
        "quote_span_words": cfg.debate.quote_span_words,
        "quote_prefill": cfg.debate.quote_prefill,
        "quote_pick": cfg.debate.quote_pick,
        "passage_to_debaters": cfg.debate.passage_to_debaters,
    }, LATER_DEBATE_DEFAULTS)
    if needs_weak_picks(protocol):
        semantic["weak_picks_from"] = picks_from
    if swapped:
        semantic["swapped"] = True
        semantic["items"] = SWAPPED_SPLIT
    return semantic


def transcript_kind(protocol: str, seed: int, *, swapped: bool = False) -> str:
    """The stage kind (the folder name before its hash) of one (protocol, seed)."""
    return f"transcripts-{protocol}-s{seed}{'-swapped' if swapped else ''}"


def transcript_stage(
    cfg: ExperimentConfig, protocol: str, seed: int, picks_from: str | None = None, *, swapped: bool = False
) -> StageDir:
    """The stage folder of one (protocol, seed); ``picks_from`` names the weak floor behind market-making.

    ``swapped`` is the same debates with the A/B stances exchanged (position-bias control);
    only the test items are swapped, since only the judge's test verdicts use them.
    """
    return stage_dir(cfg.output_dir, transcript_kind(protocol, seed, swapped=swapped),
                     transcript_semantic(cfg, protocol, seed, picks_from, swapped=swapped))


def debate_items(splits: Mapping[str, pd.DataFrame], with_passage: bool = True) -> pd.DataFrame:
    """Every item the judges need transcripts for, without labels, in a fixed order.

    ``with_passage=False`` blanks the hidden passage, so the same items are debated without it.
    """
    frame = pd.concat([splits[name][["id", "question", "answer", "evidence"]] for name in splits], ignore_index=True)
    if not with_passage:
        frame["evidence"] = ""
    if frame["id"].duplicated().any():
        raise ValueError("item ids repeat across splits; the data stage must produce disjoint splits")
    return frame


def shard_tasks(
    stage: StageDir,
    items: pd.DataFrame,
    protocol: str,
    seed: int,
    cfg: ExperimentConfig,
    weak_picks: dict[str, int] | None = None,
    swapped: bool = False,
) -> list[ShardTask]:
    """One debate task per ``shard_size`` slice of the stage's items (with the slice's weak picks if needed)."""
    params = debate_params(cfg.debate, protocol, seed, swapped)
    ids = items["id"].astype(str).tolist()
    per_item = {"weak_picks": {i: int(weak_picks[i]) for i in ids}} if weak_picks is not None else None
    return plan_shards(DEBATE_SHARDS, stage.path, len(items), cfg.debate.shard_size, params,
                       ids=ids, per_item=per_item)


def read_transcripts(stage: StageDir) -> pd.DataFrame:
    """All transcript records of a finished (protocol, seed) stage, one row per item."""
    return read_shards(stage.path)


def quote_stats(turns: list) -> dict[str, dict[str, float]]:
    """Per arguing side: turns, quotes per turn, share of quotes verified, verified words per turn."""
    stats = {}
    for side in sorted({t.stance for t in turns}):
        mine = [t for t in turns if t.stance == side]
        quotes = sum(t.quotes for t in mine)
        verified = sum(t.verified_quotes for t in mine)
        stats[side] = {
            "turns": len(mine),
            "quotes_per_turn": quotes / len(mine),
            "verified_share": verified / quotes if quotes else 0.0,
            "verified_words_per_turn": sum(t.verified_words for t in mine) / len(mine),
            "turns_with_a_verified_quote": sum(t.verified_quotes > 0 for t in mine) / len(mine),
        }
    return stats


@dataclass(frozen=True)
class TranscriptSet:
    """One (protocol, seed)'s transcripts, read and rendered once for every later use.

    ``failed`` names the items whose debate the engine did not finish (a backend error): the
    failure policy is that such a transcript never trains a judge and never makes a label.
    """

    stage: StageDir
    texts: dict[str, str]  # item id -> rendered transcript (what a judge reads, in ``view``)
    stances: dict[str, dict[str, str]]  # item id -> speaker -> stance
    failed: dict[str, str]  # item id -> failure reason, for unfinished transcripts only
    completion_tokens: tuple[int, ...]  # per turn, over all items
    quote_stats: dict[str, dict[str, float]]  # per arguing side ("correct"/"incorrect"): quote counts
    view: str = "full"
    judge_input: str = "item_first"  # the judge's input layout (``labeling.data.judge_input``)

    @classmethod
    def read(cls, stage: StageDir, view: str = "full", judge_input: str = "item_first") -> "TranscriptSet":
        """Read a finished transcripts stage; ``view`` is what of checked quotes the judge reads,
        ``judge_input`` how its input is laid out."""
        records = [Transcript.from_record(r) for r in read_transcripts(stage).to_dict(orient="records")]
        return cls(
            stage=stage,
            texts={t.item_id: t.render(view) for t in records},
            stances={t.item_id: dict(t.stances) for t in records},
            failed={t.item_id: t.failed for t in records if t.failed is not None},
            completion_tokens=tuple(turn.completion_tokens for t in records for turn in t.turns),
            quote_stats=quote_stats([turn for t in records for turn in t.turns]),
            view=view,
            judge_input=judge_input,
        )

    def finished(self, ids: list[str]) -> list[bool]:
        """Per id: True when its transcript finished (usable for training and labels)."""
        return [i not in self.failed for i in ids]

    def labels_from(self, ids: list[str], probs: np.ndarray) -> np.ndarray:
        """A judge's P(correct) on ``ids`` as labels: NaN where the transcript it read failed (never a label)."""
        return np.where(self.finished(ids), np.asarray(probs, dtype=np.float64), np.nan)


def run_debates(
    cfg: ExperimentConfig,
    splits: Splits,
    backend: BackendSpec | None = None,
    *,
    weak_picks: dict[str, int] | None = None,
    picks_from: str | None = None,
) -> dict[tuple[str, int], StageDir]:
    """Run (or reuse) transcripts for every debated protocol and seed; returns their stage folders.

    ``backend`` replaces the configured vLLM debater (tests pass the scripted backend).
    ``weak_picks`` (item id -> the weak floor's verdict) and ``picks_from`` (that floor's stage
    name) are required when a protocol argues against the weak pick (market-making).
    """
    items = debate_items(splits, cfg.debate.passage_to_debaters)
    swapped_items = debate_items({SWAPPED_SPLIT: splits[SWAPPED_SPLIT]}, cfg.debate.passage_to_debaters)
    stages: dict[tuple[str, int], StageDir] = {}
    tasks: list[dict] = []
    planned: list[tuple[tuple[str, int], StageDir, pd.DataFrame]] = []
    for protocol, seed, swapped in transcript_runs(cfg):
        picks = None
        if needs_weak_picks(protocol):
            if weak_picks is None or picks_from is None:
                raise ValueError(f"protocol {protocol!r} needs the weak floor's picks (train the floor first)")
            picks = weak_picks
        stage = transcript_stage(cfg, protocol, seed, picks_from if picks else None, swapped=swapped)
        stage_items = swapped_items if swapped else items
        if not swapped:
            stages[(protocol, seed)] = stage
        planned.append(((protocol, seed), stage, stage_items))
        if stage.complete:
            log.info("transcripts %s: reusing %s", stage.path.name, stage.path)
            continue
        stage.begin()
        items_path = stage.path / "items.parquet"
        if not items_path.exists():
            atomic_write_parquet(stage_items, items_path)
        tasks.extend(shard_tasks(stage, stage_items, protocol, seed, cfg, picks, swapped))
    pending = [t for t in tasks if not t.done]
    if pending:
        run_on_ray(pending, backend or debater_backend_spec(cfg), cfg.ray, cfg.output_dir)
    for key, stage, stage_items in planned:
        if stage.complete:
            continue
        missing = [t.out_path for t in tasks if Path(t.out_path).parent == stage.path and not t.done]
        if missing:
            raise RuntimeError(f"debate stage {stage.path} is missing shards after the run: {missing[:3]}")
        frame = read_transcripts(stage)
        if len(frame) != len(stage_items) or frame["item_id"].duplicated().any():
            raise RuntimeError(f"{stage.path}: {len(frame)} transcripts for {len(stage_items)} items")
        stage.finish({"items": len(frame), "protocol": key[0], "seed": key[1]})
    return stages
