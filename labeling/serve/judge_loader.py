"""Loading a trained judge (one stage folder or a run's ensemble) with its provenance.

A judge stage folder (``judge-<protocol>-s<k>-<hash>/`` or ``weak-floor-<hash>/``) holds
``model/`` and ``stage.json``; a results folder holds ``manifest.json`` listing the judge
folders per training seed and protocol. The dataset and ``max_length`` come from
``stage.json`` so served inputs are formatted exactly as the judge's training inputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from training import ModelSpec, load_trained, predict_proba_loaded
from training.batching import tokenize_texts
from transformers import AutoTokenizer

from labeling.data.registry import item_text
from labeling.exec.hardware import inference_precision
from labeling.stages.judge_folder import JudgeFolderError, read_json, read_judge_folder
from labeling.stages.trained import recorded_dtype
from labeling.data.judge_input import judge_text
from labeling.serve.vllm_classify import VLLMClassifyClient

log = logging.getLogger(__name__)

JudgeLoadError = JudgeFolderError  # the path is not a judge stage folder or a results folder with judges


@dataclass(frozen=True)
class DebateDefaults:
    """How the judge's training transcripts were made (from the transcript stage), if known."""

    protocol: str
    seed: int
    word_limit: int | None
    sampling: dict[str, Any] | None
    prompt_version: str | None
    debater: dict[str, Any] | None


@dataclass
class JudgeMember:
    """One trained classifier of the judge, with where it came from."""

    name: str
    stage_path: Path
    stage: dict[str, Any]
    protocol: str
    debate_seed: int | None
    max_length: int
    train_log: dict[str, Any] | None
    model: Any = field(repr=False, default=None)
    tokenizer: Any = field(repr=False, default=None)
    classify: Any = field(repr=False, default=None)  # a VLLMClassifyClient scoring instead of ``model``

    def provenance(self) -> dict[str, Any]:
        """What /v1/models shows about this member."""
        log_summary = None
        if self.train_log is not None:
            losses = self.train_log.get("loss_per_step") or []
            log_summary = {k: v for k, v in self.train_log.items() if k != "loss_per_step"}
            log_summary["final_loss"] = losses[-1] if losses else None
        return {
            "name": self.name,
            "stage_dir": str(self.stage_path),
            "protocol": self.protocol,
            "debate_seed": self.debate_seed,
            "max_length": self.max_length,
            "stage": self.stage,
            "train_log": log_summary,
            "backend": self.classify.describe() if self.classify is not None else {"backend": "transformers"},
        }

    def predict(self, texts: list[str], *, batch_size: int, bf16: bool) -> np.ndarray:
        """P(correct) for each text, from the local classifier or the member's vLLM pooling server."""
        if self.classify is not None:
            return self.classify.predict(tokenize_texts(self.tokenizer, texts, self.max_length))
        return predict_proba_loaded(
            self.model, self.tokenizer, texts, batch_size=batch_size, max_length=self.max_length,
            bf16=bf16, desc=f"judge {self.name}", progress=False,
        )


@dataclass
class LoadedJudge:
    """A judge ready to score texts: one member, or an ensemble scored by the mean probability."""

    judge_id: str
    source: Path
    dataset: str
    protocol: str
    members: list[JudgeMember]
    debate: DebateDefaults | None
    dtype: str  # the precision members predict in: "bfloat16" or "float32"
    judge_input: str = "item_first"  # the input layout the members were trained on

    @property
    def bf16(self) -> bool:
        """True when members predict under bf16 autocast."""
        return self.dtype == "bfloat16"

    def format(self, question: str, answer: str, transcript: str = "") -> str:
        """The judge's input text for one item, built by the shared training formatters."""
        return judge_text(item_text(self.dataset, question, answer), transcript, self.judge_input, answer)

    def predict_members(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """P(correct) of every member for every text: shape ``[n_members, n_texts]``, float64."""
        rows = [m.predict(list(texts), batch_size=batch_size, bf16=self.bf16) for m in self.members]
        return np.stack(rows) if rows else np.empty((0, len(texts)))

    def describe(self) -> dict[str, Any]:
        """The model card served by /v1/models."""
        return {
            "id": self.judge_id,
            "object": "model",
            "source": str(self.source),
            "dataset": self.dataset,
            "judge_input": self.judge_input,
            "protocol": self.protocol,
            "ensemble_size": len(self.members),
            "dtype": self.dtype,
            "debate_defaults": None if self.debate is None else self.debate.__dict__,
            "members": [m.provenance() for m in self.members],
        }


def _debate_defaults(stage_path: Path, stage: dict[str, Any], protocol: str, seed: int | None) -> DebateDefaults | None:
    """Settings of the transcripts this judge was trained on (a sibling stage folder)."""
    if protocol == "none" or seed is None:
        return None
    name = stage.get("transcripts")
    info: dict[str, Any] = {}
    if name:
        candidate = stage_path.parent / str(name) / "stage.json"
        if candidate.is_file():
            info = read_json(candidate)
        else:
            log.warning("transcript stage %s not found beside %s; using default debate settings", name, stage_path)
    return DebateDefaults(
        protocol=protocol,
        seed=int(info.get("seed", seed)),
        word_limit=info.get("word_limit"),
        sampling=info.get("sampling"),
        prompt_version=info.get("prompt_version"),
        debater=info.get("debater"),
    )


def read_member(stage_path: str | Path) -> JudgeMember:
    """A judge stage folder's metadata (no weights loaded), from the shared judge-folder reader."""
    folder = read_judge_folder(stage_path)
    assert folder.protocol is not None  # strict: the name was checked
    return JudgeMember(folder.path.name, folder.path, folder.stage, folder.protocol, folder.debate_seed,
                       folder.max_length, folder.train_log)


def _resolve_manifest_path(results: Path, recorded: str) -> Path:
    """A stage path from a manifest; falls back to ``<output_dir>/artifacts/<name>`` if the run moved."""
    path = Path(recorded)
    if path.is_dir():
        return path
    moved = results.parent / "artifacts" / path.name
    if moved.is_dir():
        return moved
    raise JudgeLoadError(f"judge stage {recorded} listed in {results}/manifest.json does not exist")


def members_from_results(results: Path, protocol: str | None, training_seed: int) -> tuple[str, list[Path]]:
    """The chosen protocol and its judge folders (one per debate seed) from ``manifest.json``."""
    manifest = read_json(results / "manifest.json")
    stages = manifest.get("stages", {}).get(f"seed{training_seed}")
    if stages is None:
        raise JudgeLoadError(f"{results}/manifest.json has no stages for training seed {training_seed}")
    judges = judges_by_protocol(stages.get("judges", {}))
    if stages.get("weak_floor"):
        judges.setdefault("none", [stages["weak_floor"]])
    plain = sorted(p for p in judges if "/" not in p)
    if protocol is None:
        debated = [p for p in plain if p != "none"]
        if len(debated) != 1:
            raise JudgeLoadError(f"choose a protocol with --protocol; this run has judges for {plain}")
        protocol = debated[0]
    if protocol not in judges or not judges[protocol]:
        raise JudgeLoadError(f"no judges for protocol {protocol!r}; this run has {plain}")
    return protocol.partition("/")[0], [_resolve_manifest_path(results, p) for p in judges[protocol]]


def judges_by_protocol(recorded: dict[str, list[str]]) -> dict[str, list[str]]:
    """A manifest's judge folders by protocol name and by its own ``protocol/ensemble`` keys.

    A run's manifest keys its judges ``protocol/ensemble``; the protocol's own judges (one per debate
    seed) are under ``protocol/single``, which the bare protocol name selects. Older manifests keyed
    them by the protocol alone.
    """
    judges: dict[str, list[str]] = {}
    for key, paths in recorded.items():
        name, _, ensemble = key.partition("/")
        judges[key] = list(paths)
        if ensemble in ("", "single"):
            judges[name] = list(paths)
    return judges


def load_judge(
    path: str | Path,
    *,
    protocol: str | None = None,
    training_seed: int = 0,
    dtype: str = "auto",
    device: str = "cpu",
    classify_urls: Sequence[str] = (),
) -> LoadedJudge:
    """Load a judge stage folder, or every judge of ``protocol`` in a results folder (an ensemble).

    ``dtype="auto"`` predicts in the precision the judge was trained in where this machine runs it
    natively, else in fp32 (see ``labeling.exec.hardware.inference_precision``).
    ``classify_urls`` (one per member, in member order) scores each member with a vLLM pooling
    server serving that member's ``model/`` instead of loading its weights here.
    """
    path = Path(path).resolve()
    if (path / "manifest.json").is_file():
        protocol, stage_paths = members_from_results(path, protocol, training_seed)
        judge_id = f"{path.name}/{protocol}/seed{training_seed}"
    elif (path / "stage.json").is_file():
        stage_paths = [path]
        judge_id = path.name
    else:
        raise JudgeLoadError(f"{path} is neither a judge stage folder (stage.json) nor a results folder (manifest.json)")
    members = [read_member(p) for p in stage_paths]
    datasets = {m.stage["data"]["dataset"] for m in members}
    protocols = {m.protocol for m in members}
    layouts = {str(m.stage.get("judge_input", "item_first")) for m in members}
    if len(datasets) != 1 or len(protocols) != 1 or len(layouts) != 1:
        raise JudgeLoadError(f"ensemble members disagree: datasets {sorted(datasets)}, protocols "
                             f"{sorted(protocols)}, input layouts {sorted(layouts)}")
    if protocol is not None and protocol not in protocols:
        raise JudgeLoadError(f"{path} is a {protocols.pop()!r} judge, not {protocol!r}")
    if classify_urls and len(classify_urls) != len(members):
        raise JudgeLoadError(f"{len(classify_urls)} pooling-server URLs for {len(members)} judge members")
    for index, member in enumerate(members):
        if classify_urls:
            member.tokenizer = AutoTokenizer.from_pretrained(str(member.stage_path / "model"))
            member.classify = VLLMClassifyClient(classify_urls[index])
            continue
        model, tokenizer = load_trained(ModelSpec(str(member.stage_path / "model")))
        member.model, member.tokenizer = model.to(device).eval(), tokenizer
    first = members[0]
    device_kind = "cuda" if str(device).startswith("cuda") else "cpu"
    precision = inference_precision(dtype, recorded_dtype(first.stage), device_kind)
    judge = LoadedJudge(
        judge_id=judge_id,
        source=path,
        dataset=str(datasets.pop()),
        protocol=first.protocol,
        members=members,
        debate=_debate_defaults(first.stage_path, first.stage, first.protocol, first.debate_seed),
        dtype=precision.dtype,
        judge_input=layouts.pop(),
    )
    log.info("loaded judge %s (%d member(s), dataset %s)", judge.judge_id, len(members), judge.dataset)
    return judge
