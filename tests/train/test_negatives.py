"""Negative sets from mining and from the base LM (hardest / easiest / mined / mined_far), the
dev slice of Likra's w = auto, and their errors."""
from __future__ import annotations

import pytest

from nearmiss.auth.accounts import add_user
from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.lm.loglik import score_continuations
from nearmiss.lm.prompts import continuation
from nearmiss.load.ingest import add_candidates, candidate_row, ingest
from nearmiss.load.sources import open_source
from nearmiss.mine.run import MineConfig, mine
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, normalize_answer
from nearmiss.store.tables import Candidate, Label
from nearmiss.train.config import TrainConfig
from nearmiss.train.data import load_splits
from nearmiss.train.negatives import build_sets

N_ITEMS = 12


def _no_lm(items):
    raise AssertionError("this set must not need the LM")


@pytest.fixture(scope="module")
def arc(tmp_path_factory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('sets') / 'store.db'}")
    ingest(store, open_source("arc-easy", split="test", limit=N_ITEMS).items)
    ingest(store, open_source("arc-easy", split="validation", limit=4).items)
    yield store
    store.dispose()


def _train(store: Store, **dev):
    with store.session() as s:
        return load_splits(s, "arc-easy", "test", "validation", None, 0, **dev).train


def _direct_scores(items) -> dict[str, list[float]]:
    """Summed log-likelihood of every own wrong choice, straight from the scorer (fp32)."""
    from nearmiss.lm.models import load_lm

    model, tok = load_lm("smollm2-135m", "float32")
    rows = score_continuations(model, tok, [t.prompt for t in items],
                               [[continuation(d) for d in t.distractors] for t in items])
    return {t.id: [c.logprob for c in row] for t, row in zip(items, rows)}


def _argbest(xs: list[float], highest: bool) -> int:
    return (max if highest else min)(range(len(xs)), key=xs.__getitem__)


def test_hardest_and_easiest_are_the_base_models_argmax_and_argmin(arc):
    from nearmiss.train.curves import _ChoiceScorer
    from nearmiss.train.heads import Heads

    cfg = TrainConfig(dtype="float32", threads=1)
    items = _train(arc)
    direct = _direct_scores(items)
    with arc.session() as s:  # no mining in the store: the run's own base model scores the choices
        sets = build_sets(["hardest", "easiest"], s, items, cfg, _ChoiceScorer(Heads(cfg)), "arc-easy", "test")
    for name, highest in (("hardest", True), ("easiest", False)):
        assert [p.item_id for p in sets[name]] == [t.id for t in items]
        for t, p in zip(items, sets[name]):
            assert p.rejected == t.distractors[_argbest(direct[t.id], highest)] and p.chosen == t.gold
    assert any(h.rejected != e.rejected for h, e in zip(sets["hardest"], sets["easiest"]))
    by_char = TrainConfig(dtype="float32", threads=1, hardest_by="char")
    with arc.session() as s:
        per_char = build_sets(["hardest"], s, items, by_char, lambda todo: [direct[t.id] for t in todo])["hardest"]
    for t, p in zip(items, per_char):
        want = [lp / len(d) for lp, d in zip(direct[t.id], t.distractors)]
        assert p.rejected == t.distractors[_argbest(want, True)]


def test_hardest_uses_the_scores_a_mining_run_stored(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    ingest(store, open_source("arc-easy", split="test", limit=6).items)
    ingest(store, open_source("arc-easy", split="validation", limit=2).items)
    mine(store, MineConfig(dataset="arc-easy", split="test", pools=("distractors",), scorers=("lm",),
                           dtype="float32"), progress=False)
    items = _train(store)
    direct = _direct_scores(items)
    notes = []
    with store.session() as s:
        pairs = build_sets(["hardest", "easiest"], s, items, TrainConfig(), _no_lm, "arc-easy", "test", notes)["hardest"]
    assert [p.rejected for p in pairs] == [t.distractors[_argbest(direct[t.id], True)] for t in items]
    assert notes == [f"hardest/easiest: base-LM scores of {len(items)} items stored by mining with smollm2-135m, "
                     "0 computed with the fast scorer"]  # once, though both sets asked
    store.dispose()


def test_mined_never_gives_possibly_correct_labeled_correct_or_gold(arc):
    items = _train(arc)[:4]
    admin = add_user(arc, "boss", "admin", "a-long-secret").id
    t = items[0]
    texts = {"flagged": "Flagged answer", "correct": "Labeled correct", "invalid": "Labeled invalid",
             "gold": f"  {t.gold.upper()} ", "best": "Best remaining", "low": "Low nearness"}
    def row(item_id, text, origin, nearness, flagged=False):
        return candidate_row(item_id, CandidateRecord(text=text, origin=origin)) | {"nearness": nearness,
                                                                                    "possibly_correct": flagged}

    rows = [row(t.id, texts[k], o, n, k == "flagged")
            for k, o, n in (("flagged", "neighbour", 0.99), ("correct", "neighbour", 0.98),
                            ("invalid", "lm_sample", 0.97), ("gold", "neighbour", 0.96),
                            ("best", "neighbour", 0.7), ("low", "distractor", 0.1))]
    rows += [row(o.id, o.distractors[0], "distractor", 0.5) for o in items[1:]]
    with arc.session() as s:
        add_candidates(s, rows)
        ids = {r["text"]: r["id"] for r in rows}
        for key, label in (("correct", "actually_correct"), ("invalid", "invalid")):
            s.add(Label(candidate_id=ids[texts[key]], annotator_id=admin, kind="adjudication", label=label))
    with arc.session() as s:
        sets = build_sets(["mined", "mined_far"], s, items, TrainConfig(), _no_lm, "arc-easy", "test")
        narrow = TrainConfig(mined_nearness_max=0.6, mined_origins=["distractor"])
        capped = build_sets(["mined"], s, items, narrow, _no_lm, "arc-easy", "test")["mined"]
        stored = {c.text: c for c in s.query(Candidate).filter(Candidate.item_id == t.id)}
    assert sets["mined"][0].rejected == "Best remaining" and sets["mined_far"][0].rejected == "Low nearness"
    assert capped[0].rejected == "Low nearness"
    for p in sets["mined"] + sets["mined_far"] + capped:
        assert normalize_answer(p.rejected) != normalize_answer(p.chosen)
        c = stored.get(p.rejected)
        assert c is None or not c.possibly_correct
    assert {p.rejected for p in sets["mined"]}.isdisjoint({texts[k] for k in ("flagged", "correct", "invalid")})
    assert [p.item_id for p in sets["mined"]] == [p.item_id for p in sets["mined_far"]] == [o.id for o in items]


def test_sets_of_one_run_share_items_and_order(arc):
    items = _train(arc)
    with arc.session() as s:
        sets = build_sets(["distractor", "unrelated"], s, items, TrainConfig(), _no_lm, "arc-easy", "test")
    assert [p.item_id for p in sets["distractor"]] == [p.item_id for p in sets["unrelated"]]


def test_unmined_items_and_unknown_sets_are_one_clear_error(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    ingest(store, open_source("arc-easy", split="test", limit=3).items)
    ingest(store, open_source("arc-easy", split="validation", limit=2).items)
    items = _train(store)
    with store.session() as s, pytest.raises(NotFoundError, match=r"arc-easy/test: mine that split first"):
        build_sets(["mined"], s, items, TrainConfig(), _no_lm, "arc-easy", "test")
    unknown = "^unknown negative set 'hardes'; expected one of hardest, easiest"
    with store.session() as s, pytest.raises(ConfigError, match=unknown):
        build_sets(["hardes"], s, items, TrainConfig(), _no_lm, "arc-easy", "test")
    store.dispose()


def test_dev_slice_never_overlaps_trained_or_eval_items(arc):
    for seed in (0, 1):
        for eval_split, limit in (("validation", None), ("test", 4)):
            with arc.session() as s:
                sp = load_splits(s, "arc-easy", "test", eval_split, limit, seed, dev=(0.25, 200))
            train, dev, evals = ({x.id for x in part} for part in (sp.train, sp.dev, sp.eval))
            assert dev and not dev & train and not dev & evals and not train & evals
            assert len(dev) == round(0.25 * (len(train) + len(dev)))


def test_cli_bad_negative_set_is_one_error_line(cli, sqlite_url):
    r = cli("train", "--negatives", "hardest,nearish", db=sqlite_url)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "Error: negatives: unknown negative set 'nearish'; expected one of hardest, easiest, mined, mined_far, near, "
        "far, failed, distractor, unrelated"]


def test_failed_set_trains_on_failed_trajectories_unless_a_person_labeled_them(tmp_path):
    from sqlalchemy import select

    from nearmiss.label.labels import decide
    from nearmiss.store.tables import Item
    from nearmiss.train.data import TrainItem
    from tests.traces import add_traces, trace_rows

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    add_traces(store, 3)
    with store.session() as s:
        items = [TrainItem(i.id, i.question, None, i.answer, ()) for i in s.scalars(select(Item).order_by(Item.id))]
        t0 = s.scalar(select(Candidate.id).join(Item, Item.id == Candidate.item_id).where(Item.native_id == "t0"))
    ann = add_user(store, "ann", "annotator", "ann-password").id
    decide(store, ann, t0, "actually_correct", request_id="t0")  # a person overrules the outcome
    with store.session() as s:
        pairs = build_sets(["failed"], s, items, TrainConfig(), _no_lm, "agent", "test")["failed"]
    failed = {r["task"]: r["messages"][-1]["content"] for r in trace_rows(3) if not r["success"]}
    by_item = {i.id: i.question for i in items}
    assert sorted((by_item[p.item_id], p.rejected) for p in pairs) == sorted(
        (task, answer) for task, answer in failed.items() if not task.startswith("Use the calculator to find 17 *"))
    store.dispose()
