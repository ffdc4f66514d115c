"""Transcript rendering and the record round trip through pyarrow, parquet and pandas."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from debate import (
    DebateItem,
    SamplingConfig,
    ScriptedBackend,
    Transcript,
    Turn,
    get_protocol,
    run_protocol,
    transcript_arrow_schema,
)


def sample_transcripts() -> list[Transcript]:
    items = [DebateItem(f"item-{i}", f"Q{i}? with {{braces}}", f"A{i}") for i in range(3)]
    sampling = SamplingConfig(temperature=0.3, top_p=0.8, max_tokens=40)
    debated = run_protocol(items, get_protocol("debate"), ScriptedBackend(), seed=5,
                           sampling=sampling)
    plain = run_protocol(items[:1], get_protocol("none"), ScriptedBackend(), seed=5,
                         sampling=sampling)
    failing = ScriptedBackend(fail=lambda r: "timeout: 30 s" if "Q1?" in r.messages[0]["content"]
                              else None)
    swapped = run_protocol(items[:2], get_protocol("debate"), failing, seed=5,
                           sampling=sampling, swap_positions=True)
    assert swapped[1].failed and swapped[0].failed is None
    return plain + debated + swapped


def test_render_format() -> None:
    transcript = Transcript(
        item_id="x", protocol="debate", seed=0, stances={"A": "correct", "B": "incorrect"},
        turns=(
            Turn("A", "correct", "It is right.", 10, 3, 0.1),
            Turn("B", "incorrect", "It is wrong.", 12, 3, 0.1),
        ),
        prompt_version="v1-test", model_id="m", sampling={},
    )
    assert transcript.render() == (
        "Debater A (arguing the answer is correct): It is right.\n\n"
        "Debater B (arguing the answer is incorrect): It is wrong."
    )
    assert dataclass_replace_turns(transcript, ()).render() == ""


def dataclass_replace_turns(transcript: Transcript, turns: tuple) -> Transcript:
    import dataclasses

    return dataclasses.replace(transcript, turns=turns)


@pytest.mark.parametrize("with_schema", [True, False])
def test_parquet_round_trip_with_pyarrow_and_pandas(tmp_path: Path, with_schema: bool) -> None:
    originals = sample_transcripts()
    records = [t.to_record() for t in originals]
    schema = transcript_arrow_schema() if with_schema else None
    table = pa.Table.from_pylist(records, schema=schema)
    path = tmp_path / "transcripts.parquet"
    pq.write_table(table, path)

    via_arrow = [Transcript.from_record(r) for r in pq.read_table(path).to_pylist()]
    via_pandas = [
        Transcript.from_record(r) for r in pd_read(path).to_dict(orient="records")
    ]
    assert via_arrow == originals
    assert via_pandas == originals
    assert via_pandas[1].render() == originals[1].render() != ""


def pd_read(path: Path):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.read_parquet(path)


def test_schema_matches_what_pyarrow_infers_for_full_records() -> None:
    records = [t.to_record() for t in sample_transcripts()[1:]]
    assert pa.Table.from_pylist(records).schema == transcript_arrow_schema()


def test_round_trip_through_datasets(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    originals = sample_transcripts()
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([t.to_record() for t in originals],
                                        schema=transcript_arrow_schema()), path)
    dataset = datasets.Dataset.from_parquet(str(path), cache_dir=str(tmp_path / "cache"))
    assert [Transcript.from_record(row) for row in dataset] == originals


def test_from_record_accepts_columnar_struct_lists() -> None:
    original = sample_transcripts()[1]
    record = original.to_record()
    turns = record["turns"]
    record["turns"] = {key: [t[key] for t in turns] for key in turns[0]}
    assert Transcript.from_record(record) == original
