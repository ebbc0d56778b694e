"""The store's name, as manifests record it and pages may show it: never a path, host or credentials."""
import pytest

from nearmiss.store import store_name


@pytest.mark.parametrize("url,name", [
    ("sqlite:////srv/team/data/demo.db", "demo.db"),
    ("sqlite:///relative/nearmiss.db", "nearmiss.db"),
    ("sqlite://", "memory"),
    ("postgresql+psycopg://labeler:s3cret@db.internal:5432/nearmiss_team", "nearmiss_team"),
])
def test_a_store_is_named_without_its_path_host_or_credentials(url, name):
    assert store_name(url) == name
