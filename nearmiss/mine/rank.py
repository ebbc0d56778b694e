"""One nearness score per candidate, a suggested label and the false-negative guard.

    nearness = (w_gold * clip(sim_gold, 0, 1) + w_question * clip(sim_question, 0, 1)
                + w_lm * sigmoid(margin_token / lm_scale)) / (sum of the weights of present scores)

Each term lies in [0, 1], so nearness does too; a score a run did not compute (no LM
scorer, no gold for a trace) drops out with its weight. ``suggested`` is ``near_miss``
when nearness >= ``near_threshold``, else ``far_miss``. A candidate is flagged
``possibly_correct`` when it is as similar to gold as gold is to itself within
``relative_margin`` (sim_gold >= 1 - relative_margin, embeddings being normalised) or when
the LM prefers it to gold both in total and per character (margin_sum > 0 and
margin_char > ``lm_guard_margin``, default 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from nearmiss.errors import ConfigError
from nearmiss.settings import setting


@dataclass(frozen=True)
class RankConfig:
    w_gold: float = setting(0.5, "Weight of the embedding similarity to gold.")
    w_question: float = setting(0.2, "Weight of the embedding similarity to the question.")
    w_lm: float = setting(0.3, "Weight of the LM's preference, sigmoid of the per-token margin to gold.")
    lm_scale: float = setting(1.0, "Nats per token that move the LM term from 0.5 to 0.73.")
    near_threshold: float = setting(0.5, "Nearness from which near_miss is suggested.")
    relative_margin: float = setting(0.05, "Guard: flag when sim_gold >= 1 - relative_margin.")
    lm_guard: bool = setting(True, "Guard: flag when the LM prefers the candidate to gold.")
    lm_guard_margin: float = setting(0.0, "Guard: nats per character by which the LM must prefer the candidate.")

    def __post_init__(self) -> None:
        for name in ("w_gold", "w_question", "w_lm"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.w_gold + self.w_question + self.w_lm <= 0:
            raise ConfigError("at least one of w_gold, w_question, w_lm must be > 0")
        if self.lm_scale <= 0:
            raise ConfigError(f"lm_scale must be > 0, got {self.lm_scale}")
        if not 0 <= self.relative_margin < 1:
            raise ConfigError(f"relative_margin must be in [0, 1), got {self.relative_margin}")


@dataclass(frozen=True)
class Ranking:
    nearness: float | None
    suggested: str | None
    possibly_correct: bool


def _clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def rank(scores: dict[str, float], cfg: RankConfig) -> Ranking:
    """Nearness, suggested label and guard flag from one candidate's scores."""
    terms = []
    if "sim_gold" in scores:
        terms.append((cfg.w_gold, _clip01(scores["sim_gold"])))
    if "sim_question" in scores:
        terms.append((cfg.w_question, _clip01(scores["sim_question"])))
    if "margin_token" in scores:
        terms.append((cfg.w_lm, 1.0 / (1.0 + math.exp(-scores["margin_token"] / cfg.lm_scale))))
    weight = sum(w for w, _ in terms)
    nearness = sum(w * v for w, v in terms) / weight if weight > 0 else None
    suggested = None if nearness is None else ("near_miss" if nearness >= cfg.near_threshold else "far_miss")
    too_similar = scores.get("sim_gold", -1.0) >= 1.0 - cfg.relative_margin
    lm_prefers = (cfg.lm_guard and scores.get("margin_sum", -1.0) > 0
                  and scores.get("margin_char", -1.0) > cfg.lm_guard_margin)
    return Ranking(None if nearness is None else round(nearness, 6), suggested, bool(too_similar or lm_prefers))
