"""Nearness formula, suggested label and false-negative guard."""
import math

import pytest

from nearmiss.errors import ConfigError
from nearmiss.mine.rank import RankConfig, rank


def test_nearness_follows_the_documented_formula():
    cfg = RankConfig(w_gold=0.5, w_question=0.2, w_lm=0.3)
    scores = {"sim_gold": 0.6, "sim_question": -0.2, "margin_token": -1.0}
    expected = (0.5 * 0.6 + 0.2 * 0.0 + 0.3 / (1 + math.exp(1.0))) / 1.0
    assert rank(scores, cfg).nearness == pytest.approx(expected, abs=1e-6)


def test_missing_scores_drop_out_with_their_weight():
    cfg = RankConfig()
    assert rank({"sim_gold": 0.4}, cfg).nearness == pytest.approx(0.4)
    assert rank({"sim_question": 0.3, "sim_gold": 0.7}, cfg).nearness == pytest.approx((0.2 * 0.3 + 0.5 * 0.7) / 0.7)
    assert rank({}, cfg) .nearness is None and rank({}, cfg).suggested is None


def test_weights_and_threshold_are_configurable():
    scores = {"sim_gold": 0.2, "sim_question": 0.9}
    assert rank(scores, RankConfig()).suggested == "far_miss"
    heavy_question = rank(scores, RankConfig(w_gold=0.1, w_question=1.0))
    assert heavy_question.nearness > 0.8 and heavy_question.suggested == "near_miss"
    assert rank(scores, RankConfig(near_threshold=0.1)).suggested == "near_miss"


def test_guard_flags_answers_as_similar_as_gold_or_preferred_by_the_lm():
    cfg = RankConfig(relative_margin=0.05)
    assert rank({"sim_gold": 0.96}, cfg).possibly_correct
    assert not rank({"sim_gold": 0.94}, cfg).possibly_correct
    preferred = {"sim_gold": 0.3, "margin_sum": 0.5, "margin_char": 0.01}
    assert rank(preferred, cfg).possibly_correct
    assert not rank(preferred, RankConfig(lm_guard=False)).possibly_correct
    assert not rank({"sim_gold": 0.3, "margin_sum": 0.5, "margin_char": -0.1}, cfg).possibly_correct


@pytest.mark.parametrize("bad, field", [({"w_gold": -1}, "w_gold"), ({"lm_scale": 0}, "lm_scale"),
                                        ({"relative_margin": 1.5}, "relative_margin"),
                                        ({"w_gold": 0, "w_question": 0, "w_lm": 0}, "w_gold")])
def test_bad_settings_name_the_field(bad, field):
    with pytest.raises(ConfigError, match=field):
        RankConfig(**bad)
