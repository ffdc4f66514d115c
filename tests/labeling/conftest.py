"""Fixtures shared by the report tests: one small finished run, made with the real pipeline on Ray."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_support import HOSTILE, UNVERIFIED, report_config

from labeling.config import ExperimentConfig
from labeling.exec.backends import BackendSpec


@pytest.fixture(scope="session")
def report_run(tmp_path_factory, tiny_model_dir, shared_data, ray_session) -> tuple[ExperimentConfig, Path]:
    """A finished run whose debaters quote the passage (verified), make up a quote (unverified) and write markup."""
    from labeling.experiment.pipeline import run_pipeline

    cfg = report_config(tmp_path_factory.mktemp("report"), tiny_model_dir, shared_data)
    debaters = BackendSpec("labeling.label.backends:scripted_backend",
                           {"quote_words": 5, "suffix": f" {UNVERIFIED} {HOSTILE}"}, {})
    return cfg, run_pipeline(cfg, backend=debaters)
