"""``w2s plan``: stage counts, parameter counts, memory and GPU-hours against hand-computed values; the CLI;
the summary ``w2s run`` / ``w2s compare`` log first; and agreement with the stage folders a real run makes."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from labeling.cli import main
from labeling.config import ModelConfig, load_config
from labeling.exec.backends import BackendSpec
from labeling.experiment.plan import plan_run, training_plans, transcript_plans
from labeling.experiment.plan_costs import gpu_class, gpu_hours, layer_activation_bytes, training_memory
from labeling.experiment.plan_models import (
    KNOWN_ARCHITECTURES, SMOLLM2_135M, architecture_from_config, architecture_of, parameter_count,
)
from labeling.experiment.plan_table import summary_line

REPO = Path(__file__).resolve().parents[2]
SMALL = """
name: small
data: {dataset: sciq, source: null, weak_train: 10, strong_train: 20, test: 6}
models:
  weak: {path: "packaged:smollm2-135m-instruct", num_hidden_layers: 8}
  strong: {path: "packaged:smollm2-135m-instruct"}
  debater: {path: "packaged:smollm2-135m-instruct"}
debate:
  protocols: [none, debate]
  seeds: [0]
  swap_positions: true
  sampling: {max_tokens: 32}
training:
  weak: {epochs: 2, batch_size: 8, max_length: 128}
  judge: {epochs: 1, batch_size: 8, max_length: 384}
  strong: {epochs: 3, batch_size: 8, max_length: 128}
  student_losses: [{name: xent}, {name: logconf}]
  seeds: [0, 1]
  dtype: float32
"""


@pytest.fixture
def small(tmp_path: Path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return load_config(path, [f"output_dir={tmp_path / 'runs'}"])


def test_debates_of_a_small_config_by_hand(small) -> None:
    plans = transcript_plans(small)
    # "none" has no transcripts; debate, 1 seed: every item of every split (10 + 20 + 6 = 36), 3 turns each
    # (A argues, B critiques, A rebuts) -> 108 turns, <= 108 x 32 = 3,456 tokens; swap_positions adds the
    # 6 test items with A/B swapped -> 18 turns, <= 576 tokens.
    assert [(p.stage_kind, p.items, p.turns, p.max_generated_tokens) for p in plans] == [
        ("transcripts-debate-s0", 36, 3, 3456),
        ("transcripts-debate-s0-swapped", 6, 3, 576),
    ]


def test_training_jobs_of_a_small_config_by_hand(small) -> None:
    jobs = training_plans(small)
    # per training seed (2): a weak floor, a ceiling, one debate judge (1 debate seed: every ensemble is the
    # single judge), students for 2 label sources (none, debate) x 2 losses -> 2 x (1 + 1 + 1 + 4) = 14 jobs
    assert Counter(j.stage_kind for j in jobs) == {
        "weak-floor": 2, "ceiling": 2, "judge-debate-s0": 2, "student-none": 4, "student-debate": 4}
    shape = {j.stage_kind: (j.examples, j.examples_seen, j.predicted_examples, j.max_length) for j in jobs}
    assert shape["weak-floor"] == (10, 20, 36, 128)  # weak_train x 2 epochs; predicts all 36 items
    assert shape["ceiling"] == (20, 60, 6, 128)  # strong_train x 3 epochs; predicts test
    assert shape["judge-debate-s0"] == (10, 10, 20 + 6 + 6 + 6, 384)  # strong_train, test, test plain, test swapped
    assert shape["student-debate"] == (20, 60, 6, 128)


def test_protocol_schedules_set_turns_and_swaps(small) -> None:
    cfg = small.model_copy(update={"debate": small.debate.model_copy(
        update={"protocols": ["none", "consultancy", "market_making", "debate_6turns"], "seeds": [0, 1]})})
    kinds = Counter((p.protocol, p.turns, p.swapped) for p in transcript_plans(cfg))
    # two seeds each; only the two-debater protocol is also run A/B-swapped (on its first seed)
    assert kinds == {("consultancy", 3, False): 2, ("market_making", 3, False): 2, ("debate_6turns", 6, False): 2,
                     ("debate_6turns", 6, True): 1}


def test_smollm2_parameter_count_from_its_config() -> None:
    # SmolLM2-135M: hidden 576, 30 layers, MLP 1536, vocab 49152, 9 heads of 64, 3 kv heads, tied embeddings.
    # embeddings 49152 x 576 = 28,311,552; a layer: q, o 576 x 576 each, k, v 576 x 192 each -> 884,736,
    # MLP 3 x 576 x 1536 = 2,654,208, two norms 1,152 -> 3,540,096; x 30 = 106,202,880; final norm 576.
    causal_lm = 28_311_552 + 106_202_880 + 576
    assert causal_lm == 134_515_008  # the published ~134.5M
    assert parameter_count(SMOLLM2_135M, head="lm") == causal_lm
    assert parameter_count(SMOLLM2_135M) == causal_lm + 576 * 2  # the classifier: a 2-way score head, no LM head
    published = {"hidden_size": 576, "num_hidden_layers": 30, "intermediate_size": 1536, "vocab_size": 49152,
                 "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64, "tie_word_embeddings": True,
                 "attention_bias": False, "model_type": "llama"}
    assert architecture_from_config(published) == SMOLLM2_135M
    cut = architecture_of(ModelConfig(path="packaged:smollm2-135m-instruct", num_hidden_layers=8))
    assert parameter_count(cut, head="lm") == 28_311_552 + 8 * 3_540_096 + 576


def test_qwen_counts_match_their_published_sizes() -> None:
    assert parameter_count(KNOWN_ARCHITECTURES["Qwen/Qwen2.5-7B"], head="lm") == pytest.approx(7.61e9, rel=0.002)
    assert parameter_count(KNOWN_ARCHITECTURES["Qwen/Qwen2.5-14B"], head="lm") == pytest.approx(14.7e9, rel=0.005)
    assert parameter_count(KNOWN_ARCHITECTURES["Qwen/Qwen2.5-0.5B"], head="lm") == pytest.approx(0.49e9, rel=0.01)


def test_full_fine_tune_memory_by_hand() -> None:
    params = parameter_count(SMOLLM2_135M)  # 134,516,160
    memory = training_memory(params, "all", arch=SMOLLM2_135M, batch_size=8, seq_len=128, bf16=False)
    # fp32 weights 4 + gradients 4 + AdamW moments 8 = 16 bytes per parameter
    assert (memory.weights, memory.gradients, memory.optimizer, memory.autocast_copies) == (
        4 * params, 4 * params, 8 * params, 0)
    # activations per token and layer, fp32: residual stream 16 x 576 = 9,216 bytes; 4 x (2 x 576 projection inputs
    # + 2 x 576 q and attention output + 2 x 192 k, v + 4 x 1536 MLP) = 4 x 8,832 = 35,328; log-sum-exp 4 x 9 = 36;
    # reciprocal RMS 8 -> 44,588 bytes; x 8 x 128 tokens x 30 layers
    assert memory.activations == 44_588 * 8 * 128 * 30 == 1_369_743_360
    # the peak: weights and moments (12 B/param) and the larger end of the backward pass, the activations here
    # (the gradients, 4 B/param, come as the activations go); measured 2.99 GB (scripts/gpu_check.py --cpu)
    assert memory.total == 12 * 134_516_160 + 1_369_743_360 == 2_983_937_280
    bf16 = training_memory(params, "all", arch=SMOLLM2_135M, batch_size=8, seq_len=128, bf16=True)
    assert bf16.autocast_copies == 2 * params  # the bf16 copy of the weights autocast keeps
    head = training_memory(params, "head", arch=SMOLLM2_135M, batch_size=8, seq_len=128, bf16=False)
    assert (head.gradients, head.optimizer) == (4 * 1152, 8 * 1152)  # only the 576 x 2 score head trains
    assert head.activations == layer_activation_bytes(SMOLLM2_135M, 8, 128, bf16=False)  # one layer at a time


def test_the_optimizer_step_sets_the_peak_of_a_checkpointed_full_fine_tune() -> None:
    arch = KNOWN_ARCHITECTURES["Qwen/Qwen2.5-7B"]
    params = parameter_count(arch)
    cuda = training_memory(params, "all", arch=arch, batch_size=4, seq_len=512, bf16=True, gradient_checkpointing=True)
    # torch's multi-tensor AdamW (its CUDA default) holds one fp32 temporary of every trainable parameter beside
    # the gradients: weights 4 + moments 8 + gradients 4 + temporary 4 = 20 B/param (141.4 GB; an H200 measured
    # 142.0 GB, scripts/gpu_check.py), where the backward pass alone would peak at 16 B/param and a layer
    assert cuda.optimizer_step == 4 * params
    assert cuda.total == 20 * params
    cpu = training_memory(params, "all", arch=arch, batch_size=4, seq_len=512, bf16=True, gradient_checkpointing=True,
                          foreach_optimizer=False)
    assert cpu.optimizer_step == 0
    assert cpu.total == 16 * params + cpu.recomputed
    lora = training_memory(params, "lora", arch=arch, batch_size=4, seq_len=512, bf16=True, trainable_params=1000)
    assert lora.optimizer_step == 4 * 1000  # only what trains


def test_gpu_hours_of_one_job_by_hand(small) -> None:
    plan = plan_run(small, gpu_class("a100-80g"))
    student = next(j for j in plan.trainings if j.stage_kind == "student-debate")
    # 6 x params x 60 examples x 128 tokens to fit, 2 x params x 6 x 128 to predict, 312 TFLOP/s x 0.3
    params = parameter_count(SMOLLM2_135M)
    expected = (6 * params * 60 * 128 + 2 * params * 6 * 128) / (312e12 * 0.3) / 3600
    assert student.gpu_hours == pytest.approx(expected)
    assert gpu_hours(312e12 * 0.3 * 3600, gpu_class("a100-80g"), 0.3) == pytest.approx(1.0)
    assert student.fits and plan.total_gpu_hours > plan.training_gpu_hours > 0


def test_a_data_parallel_job_is_sized_per_process(tmp_path: Path) -> None:
    """Two processes: each holds a full replica and half the batch's activations; the GPU-hours do not change."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    alone = load_config(path, [f"output_dir={tmp_path / 'runs'}", "training.executor=ray"])
    shared = load_config(path, [f"output_dir={tmp_path / 'runs'}", "training.executor=ray",
                                "training.strong.data_parallel=2"])
    gpu = gpu_class("a100-80g")
    one = next(j for j in plan_run(alone, gpu).trainings if j.stage_kind == "ceiling")
    two = next(j for j in plan_run(shared, gpu).trainings if j.stage_kind == "ceiling")
    assert (one.processes, two.processes, two.micro_batch) == (1, 2, 4)
    assert two.memory["weights"] == one.memory["weights"] and two.memory["optimizer"] == one.memory["optimizer"]
    assert two.memory["activations"] * 2 == one.memory["activations"]  # 4 texts per process instead of 8
    assert two.gpu_hours == pytest.approx(one.gpu_hours)
    weak = next(j for j in plan_run(shared, gpu).trainings if j.stage_kind == "weak-floor")
    assert weak.processes == 1
    sharded = load_config(path, [f"output_dir={tmp_path / 'runs'}", "training.executor=ray",
                                 "training.strong.data_parallel=2", "training.strong.data_parallel_strategy=fsdp"])
    fsdp = next(j for j in plan_run(sharded, gpu).trainings if j.stage_kind == "ceiling")
    for part in ("weights", "gradients", "optimizer", "autocast_copies"):  # each process keeps half
        assert fsdp.memory[part] == one.memory[part] // 2
    assert fsdp.memory["activations"] == two.memory["activations"] and fsdp.gpu_hours == pytest.approx(one.gpu_hours)


def test_cli_prints_the_table(capsys) -> None:
    assert main(["plan", str(REPO / "configs" / "quickstart.yaml")]) == 0
    out = capsys.readouterr().out
    assert "### Training jobs" in out and "| weak floor | smollm2-135m-instruct[:8] | 3 | head |" in out
    assert main(["plan", str(REPO / "configs" / "lang2025_grid.yaml"), "--gpu", "h200"]) == 0
    out = capsys.readouterr().out
    assert "lang2025_grid/sciq, lang2025_grid/boolq" in out and "## Grid total" in out and "Qwen2.5-14B" in out


def test_cli_json(capsys) -> None:
    assert main(["plan", str(REPO / "configs" / "grid_cpu.yaml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gpu"]["name"] == "h100" and len(data["runs"]) == 1 and data["total_gpu_hours"] > 0


def test_unknown_gpu_exits_2_naming_the_known_ones(capsys) -> None:
    assert main(["plan", str(REPO / "configs" / "quickstart.yaml"), "--gpu", "v100"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown GPU class 'v100'" in err and "h100" in err and "l4" in err


def test_run_and_compare_log_the_plan_first(monkeypatch, caplog, tmp_path: Path) -> None:
    import labeling.cli as cli

    calls: list[str] = []

    def fake(name: str):
        def run(cfg, **_):
            calls.append(name)
            assert any(r.getMessage().startswith("plan (") for r in caplog.records)  # logged before the run
            return tmp_path
        return run

    monkeypatch.setattr(cli, "run_pipeline", fake("run"))
    monkeypatch.setattr(cli, "run_compare", fake("compare"))
    caplog.set_level(logging.INFO, logger="w2s")
    assert main(["run", str(REPO / "configs" / "quickstart.yaml")]) == 0
    assert "plan (quickstart, estimates on h100): 1 transcript stages, 344 transcripts" in caplog.text
    caplog.clear()
    assert main(["compare", str(REPO / "configs" / "grid_cpu.yaml")]) == 0
    assert calls == ["run", "compare"] and "plan (grid_cpu/sciq" in caplog.text


def test_summary_names_jobs_that_do_not_fit(tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "lang2025.yaml", [f"output_dir={tmp_path}"])
    line = summary_line([plan_run(cfg, gpu_class("h200"))])
    assert "do not fit one h200" in line and "ceiling Qwen2.5-14B" in line


def _in_process(tasks, backend, ray, work_dir) -> None:
    """run_on_ray without Ray: one scripted backend here runs every shard task."""
    from labeling.exec.shards import load_factory, run_task

    engine = load_factory(backend.factory)(**backend.kwargs)
    for task in tasks:
        run_task(engine, task)


def test_plan_matches_the_stage_folders_a_run_makes(tmp_path, deep_tiny_model_dir, shared_data, monkeypatch) -> None:
    """A small grid run for real (scripted debaters, tiny random models, shards in-process instead of on Ray)."""
    import labeling.stages.transcripts as transcripts
    from labeling.experiment.pipeline import run_pipeline

    monkeypatch.setattr(transcripts, "run_on_ray", _in_process)
    ckpt = deep_tiny_model_dir
    cfg = load_config(REPO / "configs" / "sciq_cpu.yaml", [
        f"output_dir={tmp_path / 'runs'}", f"data.source={shared_data / 'sciq'}", "data.weak_train=12",
        "data.strong_train=12", "data.test=12", f"models.weak.path={ckpt}", "models.weak.num_hidden_layers=1",
        f"models.strong.path={ckpt}", f"models.debater.path={ckpt}", "debate.shard_size=12",
        "debate.protocols=[none, debate, consultancy, market_making]", "debate.seeds=[0, 1]",
        "debate.swap_positions=true", "training.ensembles=[single, debate_ensemble, finetune_ensemble]",
        "training.student_losses=[{name: xent}, {name: logconf, sources: [none, debate/debate_ensemble]}]",
        "training.bootstrap=[{num_hidden_layers: 3}]", "training.weak.epochs=1", "training.judge.epochs=1",
        "training.strong.epochs=1", "training.workers=1", "training.threads=1", "training.dtype=float32",
        "eval.n_boot=100", "eval.transcript_probe=false",
    ])
    run_pipeline(cfg, backend=BackendSpec("debate.backends.scripted:ScriptedBackend", {}, {}))
    made: dict[str, list[tuple[int, int]]] = {}
    for folder in (Path(cfg.output_dir) / "artifacts").iterdir():
        kind = folder.name.rsplit("-", 1)[0]
        if kind == "data" or kind.startswith("transcripts-"):
            made.setdefault(kind, [])
            continue
        trained = json.loads((folder / "COMPLETE").read_text())["train_items"]
        predicted = sum(len(pd.read_parquet(p)) for p in folder.glob("pred_*.parquet"))
        made.setdefault(kind, []).append((trained, predicted))
    planned: dict[str, list[tuple[int, int]]] = {"data": []}
    for t in transcript_plans(cfg):
        planned.setdefault(t.stage_kind, [])
    for j in training_plans(cfg):
        planned.setdefault(j.stage_kind, []).append((j.examples, j.predicted_examples))
    assert {k: sorted(v) for k, v in made.items()} == {k: sorted(v) for k, v in planned.items()}
    assert {"transcripts-debate-s0-swapped", "judge-market_making-s1", "bootstrap-none-l1-f1",
            "student-none-bootstrap", "student-debate-finetune_ensemble"} <= set(made)
    assert len(made["weak-floor"]) == 2  # the floor, and the finetune ensemble's second no-oversight member


def test_lora_memory_and_parameters_by_hand_and_against_peft(tiny_model_dir: Path) -> None:
    from training import LoraSettings, ModelSpec, load_classifier
    from training.lora import trainable_parameters, with_lora

    from labeling.experiment.plan_models import lora_parameters

    # SmolLM2-135M, r = 8 on every linear layer: q, o 8 x (576 + 576) = 9,216 each; k, v 8 x (576 + 192) = 6,144
    # each; gate, up, down 8 x (576 + 1536) = 16,896 each -> 81,408 a layer, x 30 = 2,442,240; + the 1,152 head
    assert lora_parameters(SMOLLM2_135M, 8, ("all-linear",)) == 2_443_392
    assert lora_parameters(SMOLLM2_135M, 8, ("q_proj", "v_proj")) == 30 * (9_216 + 6_144) + 1_152
    params = parameter_count(SMOLLM2_135M)
    memory = training_memory(params, "lora", arch=SMOLLM2_135M, batch_size=8, seq_len=128, bf16=False,
                             trainable_params=2_443_392)
    assert (memory.weights, memory.gradients, memory.optimizer) == (4 * params, 4 * 2_443_392, 8 * 2_443_392)
    assert memory.activations == 1_369_743_360  # as a full fine-tune: the backward pass crosses every layer
    saved = training_memory(params, "lora", arch=SMOLLM2_135M, batch_size=8, seq_len=128, bf16=False,
                            trainable_params=2_443_392, gradient_checkpointing=True)
    assert saved.activations == 30 * 8 * 128 * 576 * 4  # each layer's fp32 input
    assert saved.recomputed == 44_588 * 8 * 128  # one layer at a time, rebuilt in the backward pass
    assert saved.total == 4 * params + 8 * 2_443_392 + saved.activations + saved.recomputed  # inputs > gradients
    # the formula counts what peft trains on a real (tiny) model
    arch = architecture_from_config(json.loads((tiny_model_dir / "config.json").read_text()))
    model, _ = load_classifier(ModelSpec(str(tiny_model_dir)))
    assert trainable_parameters(with_lora(model, LoraSettings(r=4)))[0] == lora_parameters(arch, 4, ("all-linear",))


def test_a_grid_plan_counts_each_shared_stage_once_as_the_grid_makes_it(
        tmp_path, deep_tiny_model_dir, shared_data, monkeypatch) -> None:
    """A three-entry grid for real: a judge-only override shares the debates, a debate override does not."""
    import labeling.stages.transcripts as transcripts
    from labeling.experiment.compare import run_compare
    from labeling.experiment.plan import plan_command
    from labeling.experiment.plan_table import distinct_stages

    monkeypatch.setattr(transcripts, "run_on_ray", _in_process)
    ckpt, sciq = deep_tiny_model_dir, shared_data / "sciq"
    entry = f"{{dataset: sciq, source: {sciq}"
    cfg = load_config(REPO / "configs" / "sciq_cpu.yaml", [
        f"output_dir={tmp_path / 'runs'}", f"data.source={sciq}", "data.weak_train=8", "data.strong_train=8",
        "data.test=8", f"models.weak.path={ckpt}", "models.weak.num_hidden_layers=1", f"models.strong.path={ckpt}",
        f"models.debater.path={ckpt}", "debate.shard_size=8", "debate.protocols=[none, debate, consultancy]",
        "debate.seeds=[0, 1]", "debate.ensemble_protocols=[debate]", "training.ensembles=[single, debate_ensemble]",
        "training.weak.epochs=1", "training.judge.epochs=1", "training.strong.epochs=1", "training.seeds=[0, 1]",
        "training.workers=1", "training.threads=1", "training.dtype=float32", "debate.engine.dtype=float32",
        "eval.n_boot=50", "eval.transcript_probe=false",
        f"compare.datasets=[{entry}}}, {entry}, name: judged_longer, overrides: [training.judge.epochs=2]}}, "
        f"{entry}, name: shorter_turns, overrides: [debate.word_limit=12]}}]",
    ])
    run_compare(cfg, backend=BackendSpec("debate.backends.scripted:ScriptedBackend", {}, {}))
    made = Counter(folder.name.rsplit("-", 1)[0] for folder in (Path(cfg.output_dir) / "artifacts").iterdir()
                   if not folder.name.startswith("data-"))
    plans = plan_command(cfg, gpu_class("h100"), grid=True)
    distinct = distinct_stages(plans)
    planned = Counter([t.stage_kind for p in distinct for t in p.transcripts]
                      + [j.stage_kind for p in distinct for j in p.trainings])
    assert made == planned
    # the judge-only entry reuses every debate; the debate override makes its own; floors and ceilings are shared
    assert [len(p.transcripts) for p in distinct] == [3, 0, 3]
    assert all(j.stage_kind not in ("weak-floor", "ceiling") for p in distinct[1:] for j in p.trainings)
    assert "counted once" in summary_line(plans)
