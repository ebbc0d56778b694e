"""A labeled store for export tests: real ARC-Easy items, their distractors as candidates,
and Label rows written through the store covering every way a final label comes about.

Per item i < LABELED (distractors d0, d1, d2):
  d0: near_miss x2                     -> near_miss (2 votes, agreement 1)
  d1: far_miss, near_miss, far_miss    -> far_miss (3 votes, agreement 2/3)
  d2 by i % 5:
    0: actually_correct x2             -> actually_correct (never a negative)
    1: invalid x1                      -> invalid (never a negative)
    2: near_miss, then retracted       -> no label left (unlabeled)
    3: near_miss vs far_miss (tie)     -> disputed; i % 10 == 3 adjudicated near_miss
    4: near_miss, adjudicated actually_correct -> actually_correct
  every 7th item: an lm_sample equal to the gold answer but for case and a period, voted near_miss x2
Items i >= LABELED have no labels. Item 0 is loaded again as dataset "arc-copy" (same
question and gold) with d0 voted near_miss and d1 voted actually_correct; item 1 again as
"arc-copy2" with only d0 voted actually_correct (so item 1's near_miss d0 must not leave).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update

from nearmiss.auth.accounts import add_user
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord, candidate_id, normalize_answer
from nearmiss.store.tables import Candidate, Label

N_ITEMS, LABELED = 40, 30


@dataclass
class Truth:
    """What the scenario means, written down independently of the code under test."""

    items: list[ItemRecord]
    final: dict[str, str | None] = field(default_factory=dict)  # candidate id -> intended final label
    adjudicated: set[str] = field(default_factory=set)
    votes: dict[str, int] = field(default_factory=dict)
    pair: dict[str, tuple[str, str]] = field(default_factory=dict)  # candidate id -> (normalised question, answer)
    never_negative: set[tuple[str, str]] = field(default_factory=set)  # pairs finally actually_correct / invalid
    gold_like: set[str] = field(default_factory=set)
    nearness: dict[str, float] = field(default_factory=dict)


def _nearness(i: int, j: int) -> float:
    return ((i * 7 + j * 3) % 10) / 10


def build_labeled_store(store: Store) -> Truth:
    items = list(open_source("arc-easy", split="validation", limit=N_ITEMS).items)
    for i, it in enumerate(items):
        it.candidates = [CandidateRecord(d, "distractor", miner="distractors") for d in it.distractors()]
        if i < LABELED and i % 7 == 0:
            it.candidates.append(CandidateRecord(it.choices[it.gold].upper() + ".", "lm_sample", miner="lm"))
    copy, copy2 = (ItemRecord(dataset=name, split="validation", native_id=src.native_id, kind="mcqa",
                              question=src.question, choices=list(src.choices), gold=src.gold, answer=src.answer,
                              candidates=[CandidateRecord(d, "distractor") for d in src.distractors()])
                   for name, src in (("arc-copy", items[0]), ("arc-copy2", items[1])))
    ingest(store, [*items, copy, copy2])
    truth = Truth(items=items)
    ann = [add_user(store, f"ann{k}", "annotator", f"password-{k}").id for k in (1, 2, 3)]
    admin = add_user(store, "admin", "admin", "admin-password").id

    with store.session() as s:
        def vote(cid: str, who: int, label: str, kind: str = "decision", retracts: int | None = None) -> int:
            row = Label(candidate_id=cid, annotator_id=who, kind=kind, label=label, retracts=retracts)
            s.add(row)
            s.flush()
            return row.id

        def expect(it: ItemRecord, cid: str, text: str, label: str | None, votes: int, adjudicated: bool = False):
            truth.final[cid], truth.votes[cid] = label, votes
            truth.pair[cid] = (normalize_answer(it.question), normalize_answer(text))
            if adjudicated:
                truth.adjudicated.add(cid)
            if label in ("actually_correct", "invalid"):
                truth.never_negative.add(truth.pair[cid])

        for i, it in enumerate(items):
            d = it.distractors()
            cids = [candidate_id(it.id, x) for x in d]
            for j, cid in enumerate(cids):
                truth.nearness[cid] = _nearness(i, j)
                s.execute(update(Candidate).where(Candidate.id == cid).values(nearness=_nearness(i, j)))
            if i >= LABELED:
                continue
            vote(cids[0], ann[0], "near_miss"), vote(cids[0], ann[1], "near_miss")
            expect(it, cids[0], d[0], "near_miss", 2)
            vote(cids[1], ann[0], "far_miss"), vote(cids[1], ann[1], "near_miss"), vote(cids[1], ann[2], "far_miss")
            expect(it, cids[1], d[1], "far_miss", 3)
            case, c2 = i % 5, cids[2]
            if case == 0:
                vote(c2, ann[0], "actually_correct"), vote(c2, ann[1], "actually_correct")
                expect(it, c2, d[2], "actually_correct", 2)
            elif case == 1:
                vote(c2, ann[0], "invalid")
                expect(it, c2, d[2], "invalid", 1)
            elif case == 2:
                vote(c2, ann[0], "retraction", kind="retraction", retracts=vote(c2, ann[0], "near_miss"))
                expect(it, c2, d[2], None, 0)
            elif case == 3:
                vote(c2, ann[0], "near_miss"), vote(c2, ann[1], "far_miss")
                if i % 10 == 3:
                    vote(c2, admin, "near_miss", kind="adjudication")
                    expect(it, c2, d[2], "near_miss", 2, adjudicated=True)
                else:
                    expect(it, c2, d[2], None, 2)
            else:
                vote(c2, ann[0], "near_miss"), vote(c2, admin, "actually_correct", kind="adjudication")
                expect(it, c2, d[2], "actually_correct", 1, adjudicated=True)
            if i % 7 == 0:
                text = it.choices[it.gold].upper() + "."
                gold_like = candidate_id(it.id, text)
                vote(gold_like, ann[0], "near_miss"), vote(gold_like, ann[1], "near_miss")
                expect(it, gold_like, text, "near_miss", 2)
                truth.gold_like.add(gold_like)
        cd = copy.distractors()
        c0, c1 = candidate_id(copy.id, cd[0]), candidate_id(copy.id, cd[1])
        vote(c0, ann[0], "near_miss"), vote(c0, ann[1], "near_miss")
        expect(copy, c0, cd[0], "near_miss", 2)
        vote(c1, ann[0], "actually_correct"), vote(c1, ann[1], "actually_correct")
        expect(copy, c1, cd[1], "actually_correct", 2)
        c2 = candidate_id(copy2.id, copy2.distractors()[0])
        vote(c2, ann[2], "actually_correct")
        expect(copy2, c2, copy2.distractors()[0], "actually_correct", 1)
    return truth
