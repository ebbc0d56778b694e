"""Annotators' comments and flags leave with the hf export (rows) and are counted in the
manifest; a retracted decision's comment does not leave."""
import datasets

from nearmiss.export import ExportConfig, export
from nearmiss.label.labels import decide, undo
from nearmiss.label.queue import set_overlap
from tests.labeling import add_candidates, users


def test_hf_rows_carry_comments_and_flags_and_the_manifest_counts_them(sqlite_store, tmp_path):
    store = sqlite_store
    cands = add_candidates(store, 2, per_item=2)
    ann, bob = users(store, "ann", "bob")
    set_overlap(store, users(store, "boss", role="admin")[0], "quiz", 2)
    decide(store, ann, cands[0], "near_miss", request_id="a0", note="tempting: same unit")
    decide(store, bob, cands[0], "near_miss", request_id="b0", note="agree", flagged=True)
    decide(store, ann, cands[1], "far_miss", request_id="a1", note="retracted below")
    undo(store, ann, request_id="u1")
    decide(store, ann, cands[1], "far_miss", request_id="a1b")
    decide(store, ann, cands[2], "far_miss", request_id="a2")
    manifest = export(store, ExportConfig(format="hf", out=tmp_path / "hf", val_fraction=0.0, seed=1))
    rows = [r for split in datasets.load_from_disk(str(tmp_path / "hf")).values() for r in split.to_list()]
    by_candidate = {r["candidate_id"]: (r["comments"], r["flagged"]) for r in rows}
    assert by_candidate[cands[0]] == (["tempting: same unit", "agree"], True)
    assert by_candidate[cands[1]] == ([], False) and by_candidate[cands[2]] == ([], False)
    assert all(r["comments"] == [] and not r["flagged"] for r in rows if r["correct"])
    assert (manifest["selection"]["with_comments"], manifest["selection"]["flagged"]) == (1, 1)
