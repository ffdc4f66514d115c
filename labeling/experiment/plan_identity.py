"""Which stages the entries of a ``w2s compare`` grid share: each planned stage's identity.

An identity is the stage kind and the hash of what its folder is keyed by, built with the functions the
pipeline keys its stages with; machine-dependent parts (the data files' fingerprint, ``auto`` precision)
stand in as configured, which is equal wherever the real ones are. Equal identities in two entries are one
stage, made once.
"""

from __future__ import annotations

from labeling.config import ExperimentConfig, config_hash
from labeling.stages.stage_keys import judge_semantic, trained_semantic
from labeling.stages.transcripts import transcript_kind, transcript_semantic


def plan_data(cfg: ExperimentConfig) -> dict:
    """The stand-in for ``data_semantic`` in stage identities: the data section (entries of one grid read the
    same files wherever their data sections are equal; the plan reads no data)."""
    return {"data": cfg.data.model_dump(mode="json")}


def identity(kind: str, semantic: dict) -> str:
    """A stage's identity: its kind and the hash of what it is keyed by (as ``stage_dir`` names folders)."""
    return f"{kind}-{config_hash(semantic)}"


def unshared(cfg: ExperimentConfig, kind: str, **where: object) -> str:
    """An identity no other entry shares (stages the plan does not key, e.g. bootstrap links): counted per entry."""
    return identity(kind, {"entry": cfg.model_dump(mode="json", exclude={"name", "compare", "output_dir"}), **where})


def floor_identity(cfg: ExperimentConfig, seed: int) -> str:
    """The weak floor of ``seed``, keyed as its stage folder is (machine-dependent parts as configured)."""
    t = cfg.training
    return identity("weak-floor", trained_semantic(plan_data(cfg), cfg.models.weak, t.weak, seed, t.dtype))


def transcript_identity(cfg: ExperimentConfig, protocol: str, seed: int, swapped: bool = False) -> str:
    """One transcripts stage, keyed as its folder is (market-making's picks from the first seed's floor)."""
    semantic = transcript_semantic(cfg, protocol, seed, floor_identity(cfg, cfg.training.seeds[0]), swapped=swapped,
                                   data=plan_data(cfg), dtype=cfg.debate.engine.dtype)
    return identity(transcript_kind(protocol, seed, swapped=swapped), semantic)


def judge_identity(cfg: ExperimentConfig, protocol: str, debate_seed: int, train_seed: int) -> str:
    """The judge trained on (protocol, debate_seed)'s transcripts with ``train_seed``."""
    inputs = judge_semantic(plan_data(cfg), transcript_identity(cfg, protocol, debate_seed),
                            cfg.debate.judge_view, cfg.debate.judge_input)
    t = cfg.training
    return identity(f"judge-{protocol}-s{debate_seed}",
                    trained_semantic(inputs, cfg.models.weak, t.judge, train_seed, t.dtype))


def member_identity(cfg: ExperimentConfig, key: tuple) -> str:
    """The stage a label source's member (a ``member_keys`` key) comes from."""
    if key[0] == "floor":
        return floor_identity(cfg, key[1])
    if key[0] == "judge":
        return judge_identity(cfg, *key[1:])
    return unshared(cfg, "prompted", protocol=key[1])
