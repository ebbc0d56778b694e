"""Loading for the app: uploads (preview, mapping guess, errors naming the uploaded file),
bundled pickers and the CHAMP demo traces."""
import io
import json

import pytest
from sqlalchemy import func, select

from nearmiss.errors import LoadError, LoadErrors
from nearmiss.load.run import bundled_sources, bundled_splits, load_source, load_upload, preview_upload, stage_upload
from nearmiss.load.sources.champ import judge
from nearmiss.load.sources.mcqa import FieldMap
from nearmiss.store.tables import Candidate, Item
from tests.bad_rows import bad_rows_file

GOOD = "\n".join(json.dumps({"q": f"{n}+1?", "opts": [str(n + 1), str(n + 2)], "key": "A"}) for n in range(30))


def _staged(name: str, body: str):
    return stage_upload(io.BytesIO(body.encode()), name)


def test_preview_guesses_format_mapping_and_count():
    p = preview_upload(_staged("x.jsonl", GOOD), "mine.jsonl", n=3)
    assert p.format == "mcqa" and len(p.rows) == 3 and p.total == 30 and p.columns == ["q", "opts", "key"]
    assert p.mapping.choices == [] and p.mapping.question is None  # "q"/"opts"/"key" are not guessable


def test_upload_with_mapping_loads_and_errors_name_the_uploaded_file(sqlite_store):
    path = _staged("x.jsonl", GOOD)
    with pytest.raises(LoadError) as err:
        load_upload(sqlite_store, path, "mine.jsonl")
    assert err.value.file == "mine.jsonl" and err.value.line == 1
    assert "map a field to 'question'" in err.value.reason and "--map" not in str(err.value)  # words for both faces
    result = load_upload(sqlite_store, path, "mine.jsonl", mapping="question=q,choices=opts,answer=key")
    assert result.items_added == 30
    bad = GOOD + "\n" + json.dumps({"q": "x?", "opts": ["a", "b"], "key": "Z"})
    with pytest.raises(LoadError, match=r"^mine2.jsonl:31: field 'key'"):
        load_upload(sqlite_store, _staged("y.jsonl", bad), "mine2.jsonl", mapping="question=q,choices=opts,answer=key")
    with sqlite_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 30


def test_an_upload_lists_every_bad_row_of_every_kind_and_stores_nothing(sqlite_store):
    with pytest.raises(LoadErrors) as err:
        load_upload(sqlite_store, _staged("x.jsonl", bad_rows_file()), "mine.jsonl",
                    mapping="question=q,choices=opts,answer=key")
    assert [(e.file, e.line, e.field) for e in err.value.errors] == [
        ("mine.jsonl", 3, "key"), ("mine.jsonl", 5, "key"), ("mine.jsonl", 7, "opts"), ("mine.jsonl", 9, None)]
    assert [e.reason.split(";")[0].split(" (")[0] for e in err.value.errors] == [
        "NaN or infinite number", "missing", "choices must be a list", "malformed JSON: Expecting ',' delimiter"]
    assert err.value.more == 0
    with sqlite_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 0


def test_preview_passes_over_bad_rows_and_load_needs_the_required_fields():
    p = preview_upload(_staged("x.jsonl", bad_rows_file()), "mine.jsonl")
    assert [r["q"] for r in p.rows] == ["0+1?", "1+1?", "3+1?", "4+1?", "5+1?"] and p.total == 10
    assert p.mapping.unmapped() == ["question", "choices", "answer"]  # q / opts / key are not guessable
    assert FieldMap(question="q", choices=["opts"]).unmapped() == ["answer"]


def test_bundled_pickers_cover_every_source():
    names = bundled_sources()
    assert {"arc-easy", "mmlu:anatomy", "halueval", "champ"} <= set(names)
    assert bundled_splits("arc-easy") == ["validation", "test"]
    assert bundled_splits("champ") == ["test"]


@pytest.mark.parametrize("gold,final,ok", [("76", "There are 76 involutions.", True),
                                            ("76", "The number is 64.", False),
                                            ("5050", "The sum is 5,050.", True),
                                            ("No", "No, it is not possible.", True),
                                            ("No", "Yes, it is.", False),
                                            ("n!", "The answer is n!.", None)])
def test_champ_judge(gold, final, ok):
    assert judge(gold, final) is ok


def test_champ_traces_load_as_tasks_with_failed_candidates(sqlite_store):
    load_source(sqlite_store, "champ", limit=300)
    with sqlite_store.session() as s:
        items = s.scalars(select(Item)).all()
        failed = s.scalars(select(Candidate).where(Candidate.origin == "failed_trace")).all()
    assert items and all(i.kind == "trace" for i in items)
    solved = [i for i in items if i.answer]
    assert solved and all(i.messages[-1]["role"] == "assistant" for i in solved)
    assert failed and all(c.messages and c.text == c.messages[-1]["content"] for c in failed)
