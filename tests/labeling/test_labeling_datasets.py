"""Tests for labeling.data.registry: local loading of the shared copies, formatting rules, errors."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import labeling.data.registry as lds
from labeling.data.registry import (DATASETS, NONE_OF_THE_ABOVE, SCHEMA_COLUMNS, available_splits,
                               load_items_file, load_rows)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _rows(ds) -> list[dict]:
    return [dict(row) for row in ds]


def test_registry_has_the_five_datasets_with_hub_ids():
    assert {name: info.hub_id for name, info in DATASETS.items()} == {
        "sciq": "allenai/sciq", "boolq": "google/boolq", "cosmos_qa": "allenai/cosmos_qa",
        "anthropic_hh": "Anthropic/hh-rlhf", "amazon_polarity": "fancyzhx/amazon_polarity",
        "boolq_hidden_passage": "google/boolq", "quality": "tasksource/QuALITY"}
    for info in DATASETS.values():
        assert set(info.splits) <= {split for split, _ in info.local_files}


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ValueError, match="known datasets.*sciq"):
        load_rows("sciqq", source=DATA / "sciq", split="train")


def test_sciq_validation_full_count_schema_and_balance():
    ds = load_rows("sciq", source=DATA / "sciq", split="validation")
    assert len(ds) == 1000
    assert ds.column_names == list(SCHEMA_COLUMNS)
    assert len(set(ds["id"])) == 1000 and ds[7]["id"] == "sciq/validation/7"
    assert 0.45 <= sum(ds["label"]) / len(ds) <= 0.55
    raw = json.loads((DATA / "sciq" / "valid.json").read_text())
    for row, rec in zip(_rows(ds), raw):
        assert row["text"] == f"Q: {rec['question']} A: {row['answer']}"
        distractors = [rec[f"distractor{i}"] for i in (1, 2, 3)]
        if row["label"] == 1:
            assert row["answer"] == rec["correct_answer"]
        else:
            assert row["answer"] in distractors


def test_candidates_are_deterministic_and_independent_of_limit():
    full = _rows(load_rows("sciq", source=DATA / "sciq", split="validation"))
    again = _rows(load_rows("sciq", source=DATA / "sciq", split="validation"))
    short = _rows(load_rows("sciq", source=DATA / "sciq", split="validation", limit=40))
    assert full == again
    assert short == full[:40]
    other_seed = _rows(load_rows("sciq", source=DATA / "sciq", split="validation", data_seed=1))
    assert sum(a["text"] != b["text"] for a, b in zip(full, other_seed)) > 200


def test_sciq_never_offers_a_distractor_equal_to_the_correct_answer():
    ds = load_rows("sciq", source=DATA / "sciq", split="train")
    raw = json.loads((DATA / "sciq" / "train.json").read_text())
    for row, rec in zip(_rows(ds), raw):
        if row["label"] == 0:
            assert row["answer"].strip().lower() != rec["correct_answer"].strip().lower()


def test_boolq_string_labels_parsed_and_title_dropped():
    ds = load_rows("boolq", source=DATA / "boolq", split="validation", limit=200)
    lines = (DATA / "boolq" / "superglue_val.jsonl").read_text().splitlines()[:200]
    raw = [json.loads(line) for line in lines]
    assert len(ds) == 200
    assert ds["label"] == [int(rec["label"] == "true") for rec in raw]
    row, rec = ds[0], raw[0]
    title, body = rec["passage"].split(" -- ", 1)
    assert row["question"] == f"Passage: {body}\nQuestion: {rec['question']}"
    assert row["answer"] == "yes" and row["text"] == row["question"] + "\nAnswer: yes"
    assert not row["question"].startswith(f"Passage: {title} -- ")


def test_cosmos_none_of_the_above_rule_and_candidates():
    ds = load_rows("cosmos_qa", source=DATA / "cosmos_qa", split="validation")
    with open(DATA / "cosmos_qa" / "valid.csv", newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert len(ds) == len(raw) == 2985
    nota = 0
    for row, rec in zip(_rows(ds), raw):
        options = [rec[f"answer{i}"] for i in range(4)]
        true_answer = options[int(rec["label"])]
        assert row["text"] == row["question"] + f"\nAnswer: {row['answer']}"
        assert row["question"].startswith(f"Context: {rec['context']}\nQuestion: ")
        if true_answer == NONE_OF_THE_ABOVE:
            nota += 1
            assert row["label"] == 0 and row["answer"] != true_answer and row["answer"] in options
        elif row["label"] == 1:
            assert row["answer"] == true_answer
        else:
            assert row["answer"] in options and row["answer"] != true_answer
    assert nota > 100  # 259 in this split: the rule is really exercised
    assert 0.40 <= sum(ds["label"]) / len(ds) <= 0.50  # ~half of the non-NOTA items


def test_anthropic_hh_question_answer_split_of_the_dialogue():
    ds = load_rows("anthropic_hh", source=DATA / "hh_rlhf", split="test", limit=300)
    with gzip.open(DATA / "hh_rlhf" / "harmless-base_test.jsonl.gz", "rt") as handle:
        raw = [json.loads(next(handle)) for _ in range(300)]
    assert 0.4 <= sum(ds["label"]) / len(ds) <= 0.6
    for row, rec in zip(_rows(ds), raw):
        assert row["text"] == (rec["chosen"] if row["label"] == 1 else rec["rejected"])
        assert row["question"].endswith("\n\nAssistant:")
        assert row["text"].startswith(row["question"]) and row["text"].endswith(row["answer"])
        assert "\n\nAssistant:" not in row["text"][len(row["question"]):]


def test_splits_dirs_and_errors():
    assert available_splits("sciq", DATA / "sciq") == ["train", "validation", "test"]
    assert available_splits("cosmos_qa", DATA) == ["validation"]  # the data root also works
    assert available_splits("boolq", None) == ["train", "validation"]
    with pytest.raises(ValueError, match=r"'train'.*available splits there: \['validation'\]"):
        load_rows("boolq", source=DATA / "boolq", split="train")
    with pytest.raises(FileNotFoundError):
        load_rows("sciq", source=DATA / "no_such_dir", split="train")
    with pytest.raises(ValueError, match=r"available splits there: \[\]"):
        load_rows("amazon_polarity", source=DATA, split="train")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


SCIQ_REC = {"question": "Q?", "distractor1": "a", "distractor2": "b", "distractor3": "c",
            "correct_answer": "d", "support": ""}


def test_json_row_missing_field_names_file_row_and_field(tmp_path):
    broken = dict(SCIQ_REC)
    del broken["distractor2"]
    file = _write(tmp_path / "sciq" / "valid.json", json.dumps([SCIQ_REC, broken]))
    with pytest.raises(ValueError, match=r"valid\.json: row 1: missing field 'distractor2'") as err:
        load_rows("sciq", source=tmp_path / "sciq", split="validation")
    assert str(file) in str(err.value)


def test_empty_field_and_wrong_type_are_errors(tmp_path):
    _write(tmp_path / "valid.json", json.dumps([SCIQ_REC, {**SCIQ_REC, "question": "  "}]))
    with pytest.raises(ValueError, match=r"row 1: field 'question' is empty"):
        load_rows("sciq", source=tmp_path, split="validation")
    _write(tmp_path / "valid.json", json.dumps([{**SCIQ_REC, "correct_answer": 3}]))
    with pytest.raises(ValueError, match=r"row 0: field 'correct_answer' must be a string"):
        load_rows("sciq", source=tmp_path, split="validation")


def test_boolq_bad_label_and_broken_json_line(tmp_path):
    good = json.dumps({"question": "q", "passage": "T -- p", "idx": 0, "label": "true"})
    bad_label = json.dumps({"question": "q", "passage": "T -- p", "idx": 1, "label": "maybe"})
    file = _write(tmp_path / "superglue_val.jsonl", f"{good}\n{bad_label}\n")
    with pytest.raises(ValueError, match=r"superglue_val\.jsonl: line 2: field 'label'.*'maybe'"):
        load_rows("boolq", source=tmp_path, split="validation")
    _write(file, f"{good}\n{good}\n{{\"question\": \"q\", \"passage\n")
    with pytest.raises(ValueError, match=r"superglue_val\.jsonl: line 3: invalid JSON"):
        load_rows("boolq", source=tmp_path, split="validation")
    assert len(load_rows("boolq", source=tmp_path, split="validation", limit=2)) == 2


def test_cosmos_csv_bad_label_and_short_row(tmp_path):
    header = "id,context,question,answer0,answer1,answer2,answer3,label\n"
    _write(tmp_path / "valid.csv", header + 'x1,"multi\nline",q,a,b,c,d,7\n')
    with pytest.raises(ValueError, match=r"valid\.csv: row 0 .*field 'label'.*7"):
        load_rows("cosmos_qa", source=tmp_path, split="validation")
    _write(tmp_path / "valid.csv", header + "x1,ctx,q,a,b,c,d,1\nx2,ctx,q,a,b\n")
    with pytest.raises(ValueError, match=r"valid\.csv: row 1 .*number of fields"):
        load_rows("cosmos_qa", source=tmp_path, split="validation")


def test_hh_dialogue_without_assistant_turn_is_an_error(tmp_path):
    path = tmp_path / "harmless-base_test.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        for _ in range(20):
            handle.write(json.dumps({"chosen": "\n\nHuman: hi", "rejected": "\n\nHuman: hi"}) + "\n")
    with pytest.raises(ValueError, match=r"line 1: field '(chosen|rejected)' has no"):
        load_rows("anthropic_hh", source=tmp_path, split="test")


def test_hub_path_uses_the_registered_ids(monkeypatch):
    calls = []
    fake = {
        "google/boolq": [{"question": "is it", "answer": False, "passage": "P -- body"}],
        "fancyzhx/amazon_polarity": [{"label": 1, "title": "", "content": "Great."}],
        "allenai/cosmos_qa": [{"id": "c1", "context": "ctx", "question": "q", "answer0": "a",
                               "answer1": "b", "answer2": "c", "answer3": "d", "label": 2}],
    }

    def load_dataset(path, *, split, revision=None):
        calls.append((path, split, revision))
        return fake[path]

    monkeypatch.setattr(lds.datasets, "load_dataset", load_dataset)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no reachability probe: the fake stands in for the hub
    boolq = load_rows("boolq", split="validation")[0]
    assert boolq["label"] == 0 and boolq["question"] == "Passage: P -- body\nQuestion: is it"
    amazon = load_rows("amazon_polarity", split="test", limit=1)[0]
    assert amazon["text"] == "Review title: \nReview: Great.\nIs this review positive?\nAnswer: yes"
    assert amazon["label"] == 1
    load_rows("cosmos_qa", split="validation")
    assert calls == [("google/boolq", "validation", None), ("fancyzhx/amazon_polarity", "test[:1]", None),
                     ("allenai/cosmos_qa", "validation", "refs/convert/parquet")]
    with pytest.raises(ValueError, match="not on the hub"):
        load_rows("cosmos_qa", split="test")


def test_items_file_jsonl_defaults(tmp_path):
    items = [{"id": "a", "question": "2+2?", "answer": "4", "label": 1},
             {"id": 7, "question": "Sky color?", "answer": "green", "text": "custom text"}]
    file = _write(tmp_path / "items.jsonl", "\n".join(json.dumps(i) for i in items) + "\n")
    ds = load_items_file(file)
    assert ds.column_names == list(SCHEMA_COLUMNS)
    assert _rows(ds) == [
        {"id": "a", "question": "2+2?", "answer": "4", "label": 1, "text": "Q: 2+2? A: 4", "evidence": ""},
        {"id": "7", "question": "Sky color?", "answer": "green", "label": -1, "text": "custom text", "evidence": ""}]


def test_items_file_parquet_and_duplicate_id(tmp_path):
    table = pa.table({"id": ["x", "y"], "question": ["q1", "q2"], "answer": ["a1", "a2"],
                      "label": [0, None]})
    pq.write_table(table, tmp_path / "items.parquet")
    ds = load_items_file(tmp_path / "items.parquet")
    assert ds["label"] == [0, -1] and ds["text"] == ["Q: q1 A: a1", "Q: q2 A: a2"]
    pq.write_table(pa.table({"id": ["x", "y", "x"], "question": ["q"] * 3, "answer": ["a"] * 3}),
                   tmp_path / "dup.parquet")
    with pytest.raises(ValueError, match=r"dup\.parquet: row 2: duplicate id 'x' \(first at row 0\)"):
        load_items_file(tmp_path / "dup.parquet")


def test_items_file_validation_errors(tmp_path):
    cases = {
        '{"id": "a", "question": "q"}': r"line 1: missing field 'answer'",
        '{"id": "a", "question": "q", "answer": "x", "label": 2}': r"line 1: field 'label'",
        '{"id": "a", "question": "q", "answer": "x", "lable": 1}': r"line 1: unknown fields \['lable'\]",
        '{"id": "", "question": "q", "answer": "x"}': r"line 1: field 'id' is empty",
        '[1, 2]': r"line 1: expected an object",
    }
    for line, pattern in cases.items():
        file = _write(tmp_path / "items.jsonl", line + "\n")
        with pytest.raises(ValueError, match=pattern) as err:
            load_items_file(file)
        assert str(file) in str(err.value)
    with pytest.raises(FileNotFoundError):
        load_items_file(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="no items"):
        load_items_file(_write(tmp_path / "empty.jsonl", "\n"))


def test_hidden_passages_are_evidence_never_text(shared_data):
    sciq = load_rows("sciq", source=shared_data, split="train", limit=200)
    with_support = [r for r in sciq if r["evidence"]]
    assert 0.8 < len(with_support) / len(sciq) < 1.0  # ~90% of SciQ train items have a support paragraph
    assert all(r["evidence"] not in r["text"] for r in with_support)

    hidden = load_rows("boolq_hidden_passage", source=shared_data, split="validation", limit=20)
    shown = load_rows("boolq", source=shared_data, split="validation", limit=20)
    for h, s in zip(hidden, shown):
        assert h["evidence"] and h["evidence"] in s["text"] and h["evidence"] not in h["text"]
        assert h["label"] == s["label"] and h["text"].startswith("Question: ")

    quality = load_rows("quality", source=shared_data, split="validation")
    assert len(quality) == 202 and len(set(quality["evidence"])) == 15  # 15 articles, one item per question
    assert {r["label"] for r in quality} == {0, 1}
    assert all(r["evidence"] not in r["text"] and len(r["evidence"]) > 5000 for r in quality)
    again = load_rows("quality", source=shared_data, split="validation", data_seed=0)
    assert again["answer"] == quality["answer"]  # seeded candidate draws


def test_items_file_may_carry_evidence(tmp_path):
    items = [{"id": "a", "question": "q?", "answer": "x", "evidence": "a hidden passage"},
             {"id": "b", "question": "q2?", "answer": "y", "evidence": 3}]
    file = _write(tmp_path / "items.jsonl", json.dumps(items[0]) + "\n")
    assert load_items_file(file)["evidence"] == ["a hidden passage"]
    bad = _write(tmp_path / "bad.jsonl", "\n".join(json.dumps(i) for i in items) + "\n")
    with pytest.raises(ValueError, match="line 2: field 'evidence' must be a string"):
        load_items_file(bad)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_invalid_utf8_names_the_file_line_and_column(tmp_path, suffix):
    good = json.dumps({"id": "a", "question": "q", "answer": "x"}).encode()
    bad = b'{"id": "b", "question": "caf\xc3\xa9 \xff", "answer": "x"}'
    data = good + b"\n" + good.replace(b'"a"', b'"c"') + b"\n" + bad + b"\n"
    file = tmp_path / f"items{suffix}"
    file.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    with pytest.raises(ValueError) as err:
        load_items_file(file)
    # column counts characters: the two-byte 'é' is one column
    assert str(err.value) == f"{file}: line 3: not valid UTF-8 (byte 0xff at column 31); save the file as UTF-8"


def test_invalid_utf8_in_json_and_csv_data_files_names_the_line(tmp_path):
    _write(tmp_path / "valid.json", json.dumps([SCIQ_REC], indent=1))
    raw = (tmp_path / "valid.json").read_bytes().replace(b'"Q?"', b'"Q\xe9?"')
    (tmp_path / "valid.json").write_bytes(raw)
    with pytest.raises(ValueError, match=r"valid\.json: line 3: not valid UTF-8 \(byte 0xe9 at column 17\)"):
        load_rows("sciq", source=tmp_path, split="validation")
    header = b"id,context,question,answer0,answer1,answer2,answer3,label\n"
    (tmp_path / "valid.csv").write_bytes(header + b"x1,ctx,q,a,b,c,d,1\nx2,ctx,q\x80,a,b,c,d,1\n")
    with pytest.raises(ValueError, match=r"valid\.csv: line 3: not valid UTF-8 \(byte 0x80 at column 9\)"):
        load_rows("cosmos_qa", source=tmp_path, split="validation")


def test_a_folder_without_the_dataset_files_names_the_folder_and_the_files(tmp_path):
    from labeling.data.stage import choose_source_splits

    (tmp_path / "notes.txt").write_text("not a split")
    with pytest.raises(ValueError) as err:
        choose_source_splits("sciq", str(tmp_path))
    assert str(err.value) == (f"sciq: no data file in {tmp_path}; expected at least one of train.json (train), "
                              "valid.json (validation), test.json (test), or a subfolder sciq/ holding them")
    (tmp_path / "boolq").mkdir()
    with pytest.raises(ValueError, match=rf"boolq: no data file in {tmp_path / 'boolq'}; expected at least one of "
                                         r"superglue_train\.jsonl \(train\), superglue_val\.jsonl \(validation\)$"):
        choose_source_splits("boolq", str(tmp_path))
    with pytest.raises(ValueError, match=r"amazon_polarity has no local file layout.*data\.source: null"):
        choose_source_splits("amazon_polarity", str(tmp_path))
    with pytest.raises(ValueError, match=r"split 'test' has no local file in .* \(expected test\.json\)"):
        load_rows("sciq", source=tmp_path, split="test")
    assert choose_source_splits("sciq", None) == ("train", "test")
