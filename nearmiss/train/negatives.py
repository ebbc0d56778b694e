"""Negative sets: for each training item, the wrong answer(s) a curve trains its negative heads on.

A set is a function of the store and a seeded RNG, registered by name in ``NEGATIVE_SETS``.
It returns, per item id, its wrong answers in order of use; :func:`build_sets` keeps the items
every requested set can supply, in the seeded item order, so all sets of a run train on the
same items in the same order and differences between their curves come from the negatives.

- ``hardest`` / ``easiest``: the own wrong choice the base LM scores highest / lowest (the
  Likra paper's near / far miss: ``cross_check_type`` second-best / worst in its code), by
  summed log-likelihood (``hardest_by=sum``, the paper's) or per character of the choice.
  Scores stored by a mining run with the same LM are used; the rest are computed.
- ``mined`` / ``mined_far``: the stored candidate of highest / lowest nearness from the chosen
  pools, never one flagged possibly-correct, finally labeled actually-correct or invalid, or
  equal to the gold answer after normalisation.
- ``near`` / ``far``: candidates whose final label is near-miss / far-miss (all of an item's,
  shuffled; a curve longer than the common items takes each item's second one, and so on).
- ``failed``: the same for label ``failed``: trajectories their environment judged failed that
  no person decided otherwise (outcome labels, ``nearmiss.label.final_labels``).
- ``distractor``: a random own wrong choice; ``unrelated``: another item's correct answer.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from nearmiss.errors import NotFoundError
from nearmiss.label.final_labels import OUTCOME_LABEL, load_final_labels
from nearmiss.registry import Registry
from nearmiss.store.schema import normalize_answer
from nearmiss.store.tables import Candidate
from nearmiss.train.data import Pair, TrainItem

if TYPE_CHECKING:
    from nearmiss.train.config import TrainConfig  # which imports this registry for its choices

PAGE = 2000  # item ids per IN list

# (items) -> per item, the base LM's summed log-likelihood of each own wrong choice, in order
ChoiceScorer = Callable[[Sequence[TrainItem]], list[list[float]]]


@dataclass
class SetInputs:
    """What a negative set is computed from."""

    session: Session
    items: list[TrainItem]
    rng: random.Random
    cfg: TrainConfig
    base_scores: ChoiceScorer
    dataset: str = ""
    split: str = ""
    notes: list[str] = field(default_factory=list)  # what the run's log should say about how sets were made


Negatives = dict[str, list[str]]  # item id -> wrong answers in order of use
NegativeSet = Callable[[SetInputs], Negatives]


def _candidates(session: Session, ids: list[str], *where) -> list[Candidate]:
    rows: list[Candidate] = []
    for start in range(0, len(ids), PAGE):
        rows += session.scalars(select(Candidate).where(Candidate.item_id.in_(ids[start:start + PAGE]), *where)
                                .order_by(Candidate.id)).all()
    return rows


def _stored_choice_scores(inp: SetInputs) -> dict[str, list[float]]:
    """Summed log-likelihoods of own wrong choices stored by mining with the run's LM, for the
    items whose every wrong choice has one."""
    by_item: dict[str, dict[str, float]] = defaultdict(dict)
    for c in _candidates(inp.session, [t.id for t in inp.items], Candidate.origin == "distractor"):
        if (c.meta or {}).get("scored_by", {}).get("lm") == inp.cfg.lm and "lp_sum" in (c.scores or {}):
            by_item[c.item_id][normalize_answer(c.text)] = c.scores["lp_sum"]
    found: dict[str, list[float]] = {}
    for t in inp.items:
        have = by_item.get(t.id, {})
        values = [have.get(normalize_answer(d)) for d in t.distractors]
        known = [v for v in values if v is not None]
        if known and len(known) == len(values):
            found[t.id] = known
    return found


def choice_scores(inp: SetInputs) -> dict[str, list[float]]:
    """Per item with own wrong choices, the base LM's score of each (``hardest_by``): stored
    scores where a mining run with this LM left them, the fast scorer for the rest."""
    items = [t for t in inp.items if t.distractors]
    stored = _stored_choice_scores(inp)
    missing = [t for t in items if t.id not in stored]
    computed = dict(zip([t.id for t in missing], inp.base_scores(missing))) if missing else {}
    note = (f"hardest/easiest: base-LM scores of {len(stored)} items stored by mining with {inp.cfg.lm}, "
            f"{len(missing)} computed with the fast scorer")
    if note not in inp.notes:  # hardest and easiest both ask; say it once
        inp.notes.append(note)
    sums = {**stored, **computed}
    if inp.cfg.hardest_by == "sum":
        return sums
    return {t.id: [lp / max(len(d), 1) for lp, d in zip(sums[t.id], t.distractors)] for t in items}


def _ranked(highest: bool) -> NegativeSet:
    def build(inp: SetInputs) -> Negatives:
        scores = choice_scores(inp)
        pick = max if highest else min
        return {t.id: [t.distractors[pick(range(len(t.distractors)), key=scores[t.id].__getitem__)]]
                for t in inp.items if t.id in scores}

    build.__doc__ = f"Per item, the own wrong choice the base LM scores {'highest' if highest else 'lowest'}."
    return build


def _excluded_by_label(session: Session, cands: list[Candidate]) -> set[str]:
    final = load_final_labels(session, [c.id for c in cands])
    return {cid for cid, f in final.items() if f.label in ("actually_correct", "invalid")}


def _mined(nearest: bool) -> NegativeSet:
    def build(inp: SetInputs) -> Negatives:
        cfg, gold = inp.cfg, {t.id: normalize_answer(t.gold) for t in inp.items}
        cands = _candidates(inp.session, list(gold), Candidate.origin.in_(cfg.mined_origins),
                            Candidate.nearness.is_not(None))
        if not cands:
            raise NotFoundError(f"negative set '{'mined' if nearest else 'mined_far'}': no mined candidates "
                                f"({', '.join(cfg.mined_origins)}) for {inp.dataset}/{inp.split}: mine that split "
                                "first")
        excluded = _excluded_by_label(inp.session, cands)
        best: dict[str, tuple[float, str]] = {}  # item id -> (nearness, text) of the pick so far
        for c in cands:
            nearness = c.nearness
            if (nearness is None or c.possibly_correct or c.id in excluded
                    or normalize_answer(c.text) == gold[c.item_id]
                    or not cfg.mined_nearness_min <= nearness <= cfg.mined_nearness_max):
                continue
            held = best.get(c.item_id)
            if held is None or (nearness > held[0] if nearest else nearness < held[0]):
                best[c.item_id] = (nearness, c.text)
        return {item_id: [text] for item_id, (_, text) in best.items()}

    build.__doc__ = (f"Per item, the stored candidate of {'highest' if nearest else 'lowest'} nearness "
                     "(never possibly-correct, labeled correct / invalid, or equal to gold).")
    return build


def _labeled(label: str) -> NegativeSet:
    def build(inp: SetInputs) -> Negatives:
        gold = {t.id: normalize_answer(t.gold) for t in inp.items}
        cands = _candidates(inp.session, list(gold))
        final = load_final_labels(inp.session, [c.id for c in cands], outcomes=True)
        per_item: Negatives = defaultdict(list)
        for c in cands:
            if c.id in final and final[c.id].label == label and normalize_answer(c.text) != gold[c.item_id]:
                per_item[c.item_id].append(c.text)
        for texts in per_item.values():
            inp.rng.shuffle(texts)
        return dict(per_item)

    build.__doc__ = f"Candidates whose final label is {label}."
    return build


def _distractor(inp: SetInputs) -> Negatives:
    """One random own wrong choice per item."""
    return {t.id: [inp.rng.choice(t.distractors)] for t in inp.items if t.distractors}


def _unrelated(inp: SetInputs) -> Negatives:
    """The correct answer of another, random item (never one of this item's own choices)."""
    out = {}
    for t in inp.items:
        own = {normalize_answer(x) for x in (t.gold, *t.distractors)}
        for _ in range(100):
            other = inp.items[inp.rng.randrange(len(inp.items))].gold
            if normalize_answer(other) not in own:
                out[t.id] = [other]
                break
    return out


NEGATIVE_SETS: Registry[NegativeSet] = Registry("negative set", {
    "hardest": _ranked(highest=True),
    "easiest": _ranked(highest=False),
    "mined": _mined(nearest=True),
    "mined_far": _mined(nearest=False),
    "near": _labeled("near_miss"),
    "far": _labeled("far_miss"),
    "failed": _labeled(OUTCOME_LABEL),
    "distractor": _distractor,
    "unrelated": _unrelated,
})


def _pairs(items: list[TrainItem], negatives: Negatives) -> list[Pair]:
    """Round robin over ``items``: every item's first negative, then every second one, ..."""
    pairs, depth = [], 0
    while any(len(negatives[t.id]) > depth for t in items):
        pairs += [Pair(t.id, t.question, t.context, t.gold, negatives[t.id][depth]) for t in items
                  if len(negatives[t.id]) > depth]
        depth += 1
    return pairs


def build_sets(names: Sequence[str], session: Session, items: list[TrainItem], cfg: TrainConfig,
               base_scores: ChoiceScorer, dataset: str = "", split: str = "",
               notes: list[str] | None = None) -> dict[str, list[Pair]]:
    """The pairs of each named set, on the items every set can supply, in the items' order;
    what is worth telling about how they were made is appended to ``notes``.
    Raises on an unknown or empty set, or when the sets share no item."""
    found: dict[str, Negatives] = {}
    notes = [] if notes is None else notes
    for name in names:
        build = NEGATIVE_SETS.lookup(name)
        inputs = SetInputs(session, items, random.Random(f"{name}:{cfg.seed}"), cfg, base_scores, dataset, split,
                           notes)
        found[name] = {k: v for k, v in build(inputs).items() if v}
        if not found[name]:
            hint = {"near": ": label some candidates first", "far": ": label some candidates first",
                    "failed": ": load trajectories with their outcomes first"}.get(name, "")
            raise NotFoundError(f"negative set {name!r} is empty for {dataset}/{split}{hint}")
    common = [t for t in items if all(t.id in per for per in found.values())]
    if not common:
        raise NotFoundError(f"negative sets {', '.join(names)} share no item of {dataset}/{split}")
    if len(common) < len(items):
        notes.append(f"negative sets {', '.join(names)}: {len(common)} of {len(items)} items have a negative in "
                     "every set; the others are left out")
    return {name: _pairs(common, per) for name, per in found.items()}
