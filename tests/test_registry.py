"""The one registry type: a read-only mapping by name whose unknown-name error is worded once."""
import pytest

from nearmiss.errors import ConfigError
from nearmiss.export.formats import FORMATS
from nearmiss.label.queue import QUEUE_ORDERS
from nearmiss.label.ranker_model import MODELS
from nearmiss.lm.models import EMBEDDERS, LMS
from nearmiss.load.sources import BUNDLED_SOURCES, FILE_FORMATS
from nearmiss.load.sources.bundled import BENCHMARKS
from nearmiss.load.sources.rows import READERS
from nearmiss.mine.backends import BACKENDS
from nearmiss.mine.index import BUILDERS
from nearmiss.mine.registry import POOLS, SCORERS
from nearmiss.registry import Registry
from nearmiss.train.config import RECIPES
from nearmiss.train.methods import METHODS
from nearmiss.train.negatives import NEGATIVE_SETS

FRUIT = Registry("fruit", {"apple": 1, "pear": 2, "fig": 3})


def test_entries_keep_their_order_and_read_as_a_mapping():
    assert list(FRUIT) == ["apple", "pear", "fig"] and len(FRUIT) == 3
    assert FRUIT["pear"] == 2 and FRUIT.get("plum") is None and dict(FRUIT.items()) == {"apple": 1, "pear": 2, "fig": 3}
    assert "fig" in FRUIT and "plum" not in FRUIT
    assert ["apple"] not in FRUIT and None not in FRUIT  # user data may put a list or null where a name belongs


def test_lookup_returns_the_entry_or_refuses_in_the_one_wording():
    assert FRUIT.lookup("fig") == 3
    with pytest.raises(ConfigError) as e:
        FRUIT.lookup("plum")
    assert str(e.value) == "unknown fruit 'plum'; expected one of apple, pear, fig"
    with pytest.raises(ConfigError) as e:
        FRUIT.lookup(["apple"], "basket")
    assert str(e.value) == "basket: unknown fruit ['apple']; expected one of apple, pear, fig"


def test_names_only_registry_and_the_wording_for_other_errors():
    sizes = Registry.of_names("size", ("small", "large"))
    assert dict(sizes) == {"small": "small", "large": "large"} and sizes.kind == "size"
    assert sizes.unknown("x" * 100) == f"unknown size '{'x' * 56}...; expected one of small, large"  # long names cut


@pytest.mark.parametrize("registry", [POOLS, SCORERS, BACKENDS, BUILDERS, FORMATS, METHODS, NEGATIVE_SETS, RECIPES,
                                      MODELS, QUEUE_ORDERS, FILE_FORMATS, READERS, BENCHMARKS, BUNDLED_SOURCES, LMS,
                                      EMBEDDERS], ids=lambda r: r.kind)
def test_every_registry_is_the_one_type(registry):
    assert isinstance(registry, Registry) and registry.kind and len(registry) >= 2
