"""`nearmiss rank fit|show` as real subprocesses."""
import json

from nearmiss.store import Store
from tests.ranker_store import label_by_rule, scored_store


def test_rank_fit_and_show(cli, sqlite_url):
    store = Store(sqlite_url)
    ids = scored_store(store, 30)
    label_by_rule(store, ids[:20])

    few = cli("rank", "fit", "--dataset", "rule", "--json", db=sqlite_url)
    assert few.returncode == 0, few.stderr
    assert json.loads(few.stdout)["kind"] == "fixed" and json.loads(few.stdout)["needed"] == 20
    shown = cli("rank", "show", "--dataset", "rule", db=sqlite_url).stdout
    assert "fixed blend (nearness) ranks" in shown and "20 more needed" in shown

    label_by_rule(store, ids[20:60], annotator="bob")
    done = cli("rank", "fit", "--dataset", "rule", "--model", "boosting", "--seed", "1", db=sqlite_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ranker v2 (boosting) learned from 60 labels on rule: CV AUC ")
    report = json.loads(cli("rank", "show", "--dataset", "rule", "--json", db=sqlite_url).stdout)
    serving = report["serving"]
    assert serving["version"] == 2 and serving["model"] == "boosting" and serving["labels"] == 60
    assert serving["quality"]["learned_auc"]["value"] > serving["quality"]["blend_auc"]["value"]
    assert serving["features"][:3] == ["sim_gold", "sim_question", "lp_sum"]
    text = cli("rank", "show", "--dataset", "rule", db=sqlite_url).stdout
    assert "ranker v2 (boosting, scope rule) from 60 labels" in text and "AUC       learned" in text
    # suggestions per version at the confidence threshold: every card has one at 0.5, fewer at 0.9
    at = {t: json.loads(cli("rank", "show", "--dataset", "rule", "--threshold", t, "--json", db=sqlite_url).stdout)
          ["suggestions"] for t in ("0.5", "0.9")}
    assert [v["version"] for v in at["0.5"]] == [2] and at["0.5"][0]["coverage"] == 1.0
    assert at["0.5"][0]["agreement_labels"] == 60 and 0.5 < at["0.5"][0]["agreement"] <= 1
    assert at["0.9"][0]["coverage"] < 1.0 and at["0.9"][0]["agreement_labels"] < 60
    assert "v2 suggestions at confidence 0.80: " in text


def test_rank_errors_are_one_line(cli, sqlite_url):
    Store(sqlite_url)
    missing = cli("rank", "fit", "--dataset", "nope", db=sqlite_url)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines()[-1] == "Error: no dataset named 'nope'"
    bad = cli("rank", "fit", "--dataset", "nope", "--model", "svm", db=sqlite_url)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Error: model: unknown model 'svm'; expected one of auto, logistic, boosting, item_softmax"
    no_dataset = cli("rank", "show", db=sqlite_url)
    assert no_dataset.returncode == 1 and "needs --dataset" in no_dataset.stderr
