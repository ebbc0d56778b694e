"""Loaders: bundled benchmarks, generic files with a field mapping, HF datasets on disk,
HaluEval and traces; bad input gives one precise error and changes nothing."""
import json

import pytest

from nearmiss.errors import ConfigError, LoadError, NotFoundError
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.load.sources.bundled import BENCHMARKS
from nearmiss.load.sources.mcqa import FieldMap
from nearmiss.load.sources.rows import MAX_DEPTH, MAX_RECORD_BYTES, deep_field


def items(source, **kw):
    return list(open_source(source, **kw).items)


def test_arc_easy_validation_has_570_items_with_gold():
    loaded = items("arc-easy", split="validation")
    assert len(loaded) == 570
    first = loaded[0]
    assert first.choices[first.gold] == first.answer == "cellular telephone"
    assert len({i.id for i in loaded}) == 570


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_every_bundled_benchmark_loads_valid_items(name):
    loaded = items(name, limit=50)
    assert loaded, name
    for it in loaded:
        assert it.question and len(it.choices) >= 2 and 0 <= it.gold < len(it.choices)


def test_bundled_test_splits_come_from_request_files():
    assert len(items("arc-easy", split="test")) == 2376
    assert len(items("arc-challenge", split="test")) == 1172
    q = items("openbookqa", split="test", limit=1)[0]
    assert not q.question.startswith("Question:") and not q.question.endswith("Answer:")


def test_mmlu_subject_and_unknown_split():
    anatomy = items("mmlu:anatomy", split="test")
    assert len(anatomy) == 135 and all(i.dataset == "mmlu:anatomy" for i in anatomy)
    with pytest.raises(NotFoundError, match="no split 'train'"):
        items("arc-easy", split="train")
    with pytest.raises(NotFoundError, match="unknown MMLU subject"):
        items("mmlu:cooking")


def test_winogrande_answer_is_one_based_in_the_data():
    it = items("winogrande", limit=1)[0]
    assert it.choices == ["Sarah", "Maria"] and it.gold == 1


@pytest.mark.parametrize("answer,gold", [(2, 2), ("2", 2), ("C", 2), ("c", 2), ("Paris", 2), ("paris", 2)])
def test_answer_as_index_letter_or_text(tmp_path, answer, gold):
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"question": "Capital of France?", "choices": ["Rome", "Oslo", "Paris"], "answer": answer}))
    assert items(str(f))[0].gold == gold


def test_csv_with_choice_columns_and_explicit_map(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text("id,q,a,b,c,key\nx1,2+2?,3,4,5,B\nx2,3+3?,6,7,8,A\n")
    loaded = items(str(f), mapping="question=q,choices=a|b|c,answer=key,id=id")
    assert [(i.native_id, i.answer) for i in loaded] == [("x1", "4"), ("x2", "6")]


def test_parquet_and_hf_dataset_on_disk(tmp_path):
    import datasets

    rows = {"question": ["Sky colour?", "Grass colour?"], "options": [["blue", "red"], ["green", "pink"]],
            "label": [0, 0]}
    ds = datasets.Dataset.from_dict(rows)
    ds.to_parquet(tmp_path / "q.parquet")
    assert [i.answer for i in items(str(tmp_path / "q.parquet"))] == ["blue", "green"]
    datasets.DatasetDict({"dev": ds}).save_to_disk(tmp_path / "hfds")
    loaded = items(str(tmp_path / "hfds"), split="dev")
    assert [i.answer for i in loaded] == ["blue", "green"] and loaded[0].split == "dev"


def test_parquet_with_a_repeated_column_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "dup.parquet"
    pq.write_table(pa.table([pa.array(["q?"]), pa.array([["a", "b"]]), pa.array(["z"])],
                            names=["question", "choices", "question"]), f)
    with pytest.raises(LoadError, match="field 'question': column given 2 times"):
        items(str(f))


def test_halueval_hallucinated_answer_is_a_given_candidate():
    it = items("halueval", limit=1)[0]
    assert it.kind == "qa" and it.answer == "Arthur's Magazine"
    assert [(c.origin, c.text) for c in it.candidates] == [("given", "First for Women was started first.")]


def test_traces_success_is_gold_and_failure_is_a_candidate(tmp_path, sqlite_store):
    f = tmp_path / "t.jsonl"
    rows = [
        {"task_id": "t1", "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}],
         "success": False},
        {"task_id": "t1", "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
         "success": True},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    loaded = items(str(f))
    assert loaded[0].candidates[0].origin == "failed_trace" and loaded[1].answer == "4"
    result = ingest(sqlite_store, loaded)
    assert (result.items_added, result.candidates_added) == (1, 1)


def test_sharegpt_json_array(tmp_path):
    f = tmp_path / "s.json"
    convo = [{"from": "human", "value": "Name a prime."}, {"from": "gpt", "value": "7"}]
    f.write_text(json.dumps([{"id": "a", "conversations": convo, "outcome": "success"}]))
    it = items(str(f))[0]
    assert it.kind == "trace" and it.messages[0]["role"] == "user" and it.answer == "7"


def test_bad_map_entry_is_a_config_error():
    with pytest.raises(ConfigError, match="bad entry"):
        FieldMap.parse("question")


GOOD = '{"question": "ok?", "choices": ["a", "b"], "answer": 0}\n'


def _nested(depth: int, open_: str = "[", close: str = "]") -> str:
    """A good row whose field ``x`` holds ``depth`` lists (or objects) inside each other."""
    return '{"question": "q?", "choices": ["a", "b"], "answer": 0, "x": ' + open_ * depth + "0" + close * depth + "}\n"


TRACE = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}]
HALU = json.dumps({"question": "q?", "right_answer": "r", "hallucinated_answer": "h"}) + "\n"
BAD_INPUTS = {
    "malformed_json": ("bad.jsonl", '{"question": "ok?", "choices": ["a", "b"], "answer": 0}\n{"question": oops}\n',
                       2, None, "malformed JSON"),
    "missing_field": ("bad.jsonl", '{"question": "ok?", "choices": ["a", "b"], "answer": 0}\n{"question": "q?", "answer": 0}\n',
                      2, "choices", "missing"),
    "index_out_of_range": ("bad.jsonl", '{"question": "q?", "choices": ["a", "b"], "answer": 5}\n', 1, "answer",
                           "out of range"),
    "letter_not_a_choice": ("bad.jsonl", '{"question": "q?", "choices": ["a", "b"], "answer": "D"}\n', 1, "answer",
                            "not an index"),
    "text_not_a_choice": ("bad.jsonl", '{"question": "q?", "choices": ["yes", "no"], "answer": "maybe"}\n', 1,
                          "answer", "not an index"),
    "duplicate_choices": ("bad.jsonl", '{"question": "q?", "choices": ["a", "b", "A"], "answer": 0}\n', 1, "choices",
                          "duplicate"),
    "empty_question": ("bad.jsonl", '{"question": "  ", "choices": ["a", "b"], "answer": 0}\n', 1, "question", "empty"),
    "non_utf8": ("bad.jsonl", b'{"question": "caf\xe9?", "choices": ["a", "b"], "answer": 0}\n', 1, None, "UTF-8"),
    "empty_file": ("bad.jsonl", "", None, None, "empty"),
    "ragged_csv": ("bad.csv", "question,choices,answer\nq?,\"[\"\"a\"\",\"\"b\"\"]\",0\nq2?,x\n", 3, None, "ragged"),
    "nan_question": ("bad.jsonl", GOOD + '{"question": NaN, "choices": ["a", "b"], "answer": 0}\n', 2, "question",
                     "NaN or infinite"),
    "infinity_choice": ("bad.jsonl", '{"question": "q?", "choices": ["a", Infinity], "answer": 0}\n', 1, "choices[1]",
                        "NaN or infinite"),
    "nan_reward": ("bad.jsonl", json.dumps({"messages": TRACE, "success": False}) + "\n"
                   + json.dumps({"messages": TRACE, "reward": float("nan")}) + "\n", 2, "reward", "NaN or infinite"),
    "nul_in_text": ("bad.jsonl", '{"question": "q\\u0000?", "choices": ["a", "b"], "answer": 0}\n', 1, "question",
                    "NUL"),
    "lone_surrogate": ("bad.jsonl", '{"question": "q?", "choices": ["a\\ud800", "b"], "answer": 0}\n', 1,
                       "choices[0]", "surrogate"),
    "duplicate_ids": ("bad.jsonl", '{"id": 7, "question": "q?", "choices": ["a", "b"], "answer": 0}\n' + GOOD
                      + '{"id": 7, "question": "other?", "choices": ["c", "d"], "answer": 1}\n', 3, "id",
                      "id '7' already on line 1"),
    "duplicate_halueval": ("bad.jsonl", HALU + HALU, 2, "question", "already on line 1"),
    "unknown_role": ("bad.jsonl", json.dumps({"messages": [*TRACE, {"role": "wizard", "content": "x"}],
                                              "success": True}) + "\n", 1, "messages[2].role", "unknown role 'wizard'"),
    "answer_superscript_digit": ("bad.jsonl", '{"question": "q?", "choices": ["a", "b"], "answer": "\u00b2"}\n', 1,
                                 "answer", "not an index"),
    "answer_object": ("bad.jsonl", '{"question": "q?", "choices": ["a", "b"], "answer": {"i": 0}}\n', 1, "answer",
                      "not an index"),
    "null_choice": ("bad.jsonl", '{"question": "q?", "choices": ["a", null], "answer": 0}\n', 1, "choices",
                    "every choice must be text"),
    "line_over_cap_without_newline": ("big.jsonl", b"x" * (MAX_RECORD_BYTES + 10), 1, None, "longer than"),
    "csv_field_over_cap": ("big.csv", "question,choices,answer\n\"" + ("y" * (1 << 20) + "\n") * 17 + "\",x,0\n", 2,
                           None, "CSV field is longer than"),
    "nested_600_deep": ("deep.jsonl", GOOD + _nested(600), 2, "x", "nested deeper than 64 levels"),
    "nested_past_the_decoder": ("deep.jsonl", _nested(5000), 1, "x", "nested deeper than 64 levels"),
    "nested_65_objects": ("deep.jsonl", _nested(65, "{\"a\": ", "}"), 1, "x", "nested deeper than 64 levels"),
    "nested_in_a_json_array": ("deep.json", "[\n" + GOOD + ",\n" + _nested(600) + "]\n", 4, "x",
                               "nested deeper than 64 levels"),
    "nested_past_the_decoder_in_a_json_array": ("deep.json", "[\n" + _nested(5000) + "]\n", 2, "x",
                                                "nested deeper than 64 levels"),
    "repeated_csv_header": ("dup.csv", "question,choices,answer,question\nq?,\"[\"\"a\"\",\"\"b\"\"]\",0,z\n", 1,
                            "question", "column given 2 times in the header"),
    "repeated_json_key": ("dup.jsonl", '{"question": "q?", "choices": ["a", "b"], "answer": 0, "answer": 1}\n', 1,
                          "answer", "key given twice"),
    "message_content_object": ("t.jsonl", json.dumps({"messages": [TRACE[0], {"role": "assistant", "content": {"a": 1}}],
                                                      "success": True}) + "\n", 1, "messages[1].content",
                               "expected text or a list of text parts, got dict"),
    "sharegpt_value_number": ("t.jsonl", json.dumps({"conversations": [{"from": "human", "value": "q?"},
                                                                       {"from": "gpt", "value": 42}],
                                                     "success": True}) + "\n", 1, "conversations[1].value",
                              "expected text or a list of text parts, got int"),
    "message_image_part": ("t.jsonl", json.dumps({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}, TRACE[1]], "success": True}) + "\n", 1,
        "messages[0].content[0]", "only text is kept"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_file_line_and_field(tmp_path, case):
    name, content, line, field, reason = BAD_INPUTS[case]
    f = tmp_path / name
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LoadError) as err:
        items(str(f))
    e = err.value
    assert e.file == str(f) and e.line == line and e.field == field and reason in e.reason
    assert str(e).startswith(f"{f}:{line}: " if line else f"{f}: ")


def test_nesting_is_capped_at_64_levels_by_the_walk_and_by_the_token_scan(tmp_path):
    f = tmp_path / "edge.jsonl"
    f.write_text(_nested(MAX_DEPTH - 1))  # the row and 63 lists: 64 levels
    assert len(items(str(f))) == 1 and deep_field(_nested(MAX_DEPTH - 1)) is None
    f.write_text(_nested(MAX_DEPTH))
    with pytest.raises(LoadError, match="nested deeper than 64 levels"):
        items(str(f))
    assert deep_field(_nested(MAX_DEPTH)) == "x"
    assert deep_field('{"a": "[[[[", "b\\"": {"c": ' + "[" * 70) == 'b"'  # brackets inside strings do not count


def test_message_content_is_text_in_every_trace_format(tmp_path):
    parts = [{"type": "text", "text": "Name a prime."}, {"text": "Quickly."}]
    openai = {"task_id": "t", "messages": [{"role": "user", "content": parts},
                                           {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]},
                                           {"role": "assistant", "content": "7"}], "success": True}
    sharegpt = {"task_id": "t", "conversations": [{"from": "human", "value": parts}, {"from": "gpt", "value": None},
                                                  {"from": "gpt", "value": "7"}], "success": True}
    texts = []
    for name, row in (("o.jsonl", openai), ("s.jsonl", sharegpt)):
        (tmp_path / name).write_text(json.dumps(row))
        it = items(str(tmp_path / name))[0]
        texts.append([m["content"] for m in it.messages])
    assert texts[0] == texts[1] == ["Name a prime.\nQuickly.", "", "7"]


def test_large_file_streams_in_bounded_batches(tmp_path, sqlite_store):
    f = tmp_path / "big.jsonl"
    with f.open("w") as out:
        for n in range(20000):
            out.write(json.dumps({"id": n, "question": f"q{n}?", "choices": ["a", "b"], "answer": n % 2}) + "\n")
    seen = []
    result = ingest(sqlite_store, open_source(str(f)).items, batch_size=1000, on_batch=seen.append)
    assert result.items_added == 20000 and seen == [1000] * 20


ODD_TEXTS = ["", " ", "0", "-1", "1e309", "9" * 5000, "\u00b2", "\u0661", "\u2167", "Ⅻ", "a", "A", "ａ", "ß", "İ",
             "[", "[1,", "[[[[", "[" * 100000, '{"text": 3}', "null", "NaN", "inf", "-0", "0x1F", "1_000", " 1 ",
             "\t\n", "\u200b", "\ufeff1", "💥", "e\u0301", "\U0010ffff", "١٢", "٣", "½"]
ODD_VALUES = [None, True, False, 0, -1, 2 ** 70, -(2 ** 70), 1.0, 1.5, -0.0, 1e308, [], [None], [[1]], {}, {"label": 3},
              {"text": None}, {"text": ["a", "b"], "label": 7}, ["a", "b", None]]


def _odd(rng):
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(ODD_TEXTS)
    if pick < 0.6:
        return rng.choice(ODD_VALUES)
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000), rng.randrange(0x10000, 0x10ffff)]))
                   for _ in range(rng.randrange(0, 6)))


def test_answer_parsing_of_any_text_is_an_item_or_one_load_error():
    """Fuzz: rows of odd strings and values in every MCQA field give an item or a LoadError
    naming the line, never another exception."""
    import random

    from nearmiss.load.sources.mcqa import row_to_item

    rng = random.Random(13)
    outcomes = {"item": 0, "error": 0}
    for n in range(4000):
        choices = rng.choice([[_odd(rng), _odd(rng)], _odd(rng), ["a", "b", _odd(rng)]])
        row = {"question": rng.choice(["q?", _odd(rng)]), "choices": choices, "answer": _odd(rng),
               rng.choice(["id", "context"]): _odd(rng)}
        try:
            row_to_item("f.jsonl", n + 1, row, FieldMap().resolved(row), "d", "train")
            outcomes["item"] += 1
        except LoadError as e:
            assert e.line == n + 1 and str(e).startswith(f"f.jsonl:{n + 1}: ") and len(str(e)) < 300
            outcomes["error"] += 1
    assert outcomes["item"] > 100 and outcomes["error"] > 100, outcomes


def test_csv_field_over_the_csv_module_default_limit_loads(tmp_path):
    f = tmp_path / "long.csv"
    long_context = "z" * 200_000  # csv's default field limit is 131072
    f.write_text(f"question,choices,answer,context\nq?,\"[\"\"a\"\",\"\"b\"\"]\",1,{long_context}\n")
    (item,) = items(str(f))
    assert item.context == long_context and item.answer == "b"


@pytest.mark.parametrize("bad_id", ["1\u200b", "\u202e1"])
def test_an_item_id_with_a_hidden_character_is_refused_naming_file_line_and_field(tmp_path, bad_id):
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"id": "1", "question": "2+2?", "choices": ["3", "4"], "answer": 1}) + "\n"
                 + json.dumps({"id": bad_id, "question": "3+3?", "choices": ["6", "7"], "answer": 0}) + "\n")
    with pytest.raises(LoadError, match=r"q\.jsonl:2: field 'id': id must not contain invisible or control"):
        items(str(f))


def test_a_trace_task_id_with_a_hidden_character_is_refused(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text(json.dumps({"task_id": "t\u200b1", "messages": [{"role": "user", "content": "hi"},
                                                                {"role": "assistant", "content": "hello"}],
                             "outcome": "failure"}) + "\n")
    with pytest.raises(LoadError, match=r"t\.jsonl:1: field 'task_id': id must not contain invisible"):
        items(str(f))


def test_a_dataset_cannot_be_loaded_under_the_reserved_name_of_every_dataset(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"question": "2+2?", "choices": ["3", "4"], "answer": 1}) + "\n")
    with pytest.raises(ConfigError, match="dataset name '\\*' is reserved"):
        items(str(f), name="*")
