"""What an annotator's card shows: the item, the candidate and, where the ranker is sure
enough, a suggested label. Scores, origins and which ranker served the card are shown only
where an admin allows it (``CardSettings``, kept in the store's ``app_settings``).

A suggestion's confidence is the ranker's calibrated probability of the label it suggests:
``max(p_near, 1 - p_near)``. The fixed blend's nearness is no probability, so a candidate the
learned ranker has not scored gets no suggestion.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import ScalarSelect, select
from sqlalchemy.orm import Session

from nearmiss.auth.accounts import require_role
from nearmiss.errors import ConfigError
from nearmiss.settings import setting
from nearmiss.store import Store
from nearmiss.store.tables import AppSetting, utcnow

NAME = "card"  # its row in app_settings
INTERNALS = ("origin", "miner", "model", "scores", "nearness", "p_near")  # what only the setting shows
NO_SUGGESTION = "no suggestion on this card (the ranker is not sure enough); press 1-4"


@dataclass(frozen=True)
class CardSettings:
    """What the Label page's cards show (admins change it on the Label page)."""

    show_internals: bool = setting(False, "Show scores, origins and the ranker that served the card on the Label "
                                          "page (off: the question, choices, candidate and suggestion only).")
    # 0.8: an accepted suggestion is then wrong at most 1 time in 5 (calibrated), where 0.5 is a coin flip
    # (annotators agreed with such suggestions 41-56 % of the time); it is about the agreement of two annotators.
    suggest_at: float = setting(0.8, "Suggest a label (Enter accepts it) only where the ranker's calibrated "
                                     "confidence in it is at least this (0.5-1).")

    def __post_init__(self) -> None:
        if not isinstance(self.show_internals, bool):
            raise ConfigError(f"show_internals: expected true or false, got {self.show_internals!r}")
        if isinstance(self.suggest_at, bool) or not isinstance(self.suggest_at, int | float) \
                or not 0.5 <= self.suggest_at <= 1:
            raise ConfigError(f"suggest_at: expected a number from 0.5 to 1, got {self.suggest_at!r}")

    @classmethod
    def stored(cls, value: dict[str, Any] | None) -> CardSettings:
        """The settings a stored row holds (defaults for what it lacks; a name this code does not know is ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (value or {}).items() if k in known})


_STORED = select(AppSetting.value).where(AppSetting.name == NAME)


def settings_column() -> ScalarSelect[Any]:
    """The stored card settings as a column, so a card's query reads them in the same round trip."""
    return _STORED.scalar_subquery()


def card_settings(store: Store) -> CardSettings:
    """The card settings in force."""
    with store.session() as s:
        return CardSettings.stored(s.scalar(_STORED))


def save_card_settings(store: Store, admin_id: int, settings: CardSettings) -> None:
    """Store new card settings (admins only), with who changed them and when."""
    with store.session() as s:
        require_role(s, admin_id, "admin")
        _save(s, admin_id, settings)


def _save(s: Session, admin_id: int, settings: CardSettings) -> None:
    row = s.get(AppSetting, NAME)
    if row is None:
        s.add(AppSetting(name=NAME, value=asdict(settings), updated_by=admin_id))
    else:
        row.value, row.updated_by, row.updated_at = asdict(settings), admin_id, utcnow()


def confidence(p_near: float | None) -> float | None:
    """The ranker's calibrated confidence in the label it suggests (None: not scored by it)."""
    return None if p_near is None else max(p_near, 1.0 - p_near)


def plain_card(view: dict[str, Any], settings: CardSettings) -> dict[str, Any]:
    """The card as an annotator sees it: the suggestion only where the ranker's confidence
    reaches ``suggest_at``, the internals only where ``show_internals`` allows."""
    sure = (conf := confidence(view.get("p_near"))) is not None and conf >= settings.suggest_at
    card = {**view, "suggested": view.get("suggested") if sure else None}
    return card if settings.show_internals else {k: v for k, v in card.items() if k not in INTERNALS}
