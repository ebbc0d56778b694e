"""`nearmiss overlap` and `nearmiss agreement` as real subprocesses."""
import json

from nearmiss.label.labels import decide
from nearmiss.store import Store
from tests.labeling import add_candidates, users


def test_overlap_needs_an_admin_and_agreement_reports_kappas(cli, sqlite_url):
    store = Store(sqlite_url)
    cands = add_candidates(store, 1, per_item=2)
    ann, bob = users(store, "ann", "bob")
    users(store, "boss", role="admin")
    for n, cid in enumerate(cands):
        decide(store, ann, cid, "near_miss", request_id=f"a{n}")
        decide(store, bob, cid, "near_miss" if n else "far_miss", request_id=f"b{n}")

    refused = cli("overlap", "quiz", "2", "--as", "ann", db=sqlite_url)
    assert refused.returncode == 1 and refused.stderr.strip() == "Error: 'ann' is an annotator; this action is for admins"
    done = cli("overlap", "quiz", "2", "--as", "boss", db=sqlite_url)
    assert done.returncode == 0 and done.stdout.split() == ["quiz", "2"]

    report = json.loads(cli("agreement", "--json", db=sqlite_url).stdout)
    assert report["pairs"] == [{"a": "ann", "b": "bob", "shared": 2, "agreement": 0.5, "kappa": 0.0}]
    assert report["disagreements"] == 1 and report["final_labels"] == {"tie": 1, "majority": 1}
