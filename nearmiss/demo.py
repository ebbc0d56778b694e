"""The demo project: a bundled ARC-Easy slice with its mined candidates (distractors and
neighbours, scored by embedding similarity), CHAMP math traces and two accounts, built
idempotently."""
from __future__ import annotations

from sqlalchemy import select
from tqdm import tqdm

from nearmiss.auth.accounts import add_user
from nearmiss.auth.audit import DEMO
from nearmiss.load.run import load_source
from nearmiss.mine.pools.neighbours import NeighboursConfig
from nearmiss.mine.run import MineConfig, mine
from nearmiss.store import Store
from nearmiss.store.tables import Annotator

# ARC-Easy test too: the Train page's default run trains on test and evaluates on validation
DEMO_SOURCES: list[tuple[str, str, int]] = [("arc-easy", "validation", 200), ("arc-easy", "test", 300),
                                            ("champ", "test", 400)]
# embedding scores only: LM scoring of ~2,600 candidates would take minutes on a small CPU
DEMO_MINING = MineConfig(dataset="arc-easy", split="validation", pools=("distractors", "neighbours"),
                         scorers=("embedding",), neighbours=NeighboursConfig(k=2))
DEMO_USERS: list[tuple[str, str, str]] = [("admin", "admin", "admin"), ("annie", "annotator", "annie")]


def build_demo(store: Store, *, progress: bool = True) -> list[str]:
    """Load the demo data and create the demo accounts if missing (short demo passwords, flagged:
    each must choose its own at first sign-in); one line per step, the accounts last. With
    ``progress``, a bar per load and the mining run's own bars on stderr."""
    done = []
    for source, split, limit in DEMO_SOURCES:
        with tqdm(desc=f"demo: load {source} {split}", total=limit, unit=" items", disable=not progress) as bar:
            result = load_source(store, source, split=split, limit=limit, on_batch=bar.update)
        done.append(f"{source}/{split}: {result.items_added} items added")
    mined = mine(store, DEMO_MINING, progress=progress)
    done.append(f"{DEMO_MINING.dataset}/{DEMO_MINING.split}: {mined.candidates_added} candidates mined "
                f"({mined.items_skipped} items mined before)")
    with store.session() as s:
        existing = {u.name: u.demo_password for u in s.scalars(select(Annotator))}
    for name, role, password in DEMO_USERS:
        if name not in existing:
            add_user(store, name, role, password, by=DEMO, demo=True)
        if existing.get(name, True):
            done.append(f"account {name} ({role}), demo password '{password}': sign in with it and choose your "
                        "own (the app asks first), before anyone else can reach the app")
        else:
            done.append(f"account {name} ({role}): its own password (changed from the demo's)")
    return done
