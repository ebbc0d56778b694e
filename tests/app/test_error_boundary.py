"""A failure no page handled shows one line with an error id, never a traceback or a server
path, on every page and inside fragments; the server log has the traceback under that id.
Guideline images are shown as links, never fetched."""
import logging
import os
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import nearmiss.label.desk
import nearmiss.load.datasets
from nearmiss.errors import ConfigError
from nearmiss.label.guidelines import save_guideline
from nearmiss.store import Store
from tests.conftest import ROOT
from tests.labeling import add_candidates, signed_in, users

SECRET = "/srv/nearmiss-secret/site-packages/nearmiss/store/engine.py"
ONE_LINE = re.compile(r"Something went wrong \(error ([0-9a-f]{8})\)\. Reload the page to try again; .* "
                      r"the server log has error \1 with the details\.")


@pytest.fixture
def app(sqlite_url, monkeypatch):
    """(store, a function that opens a page through main.py as the admin 'boss')."""
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    store = Store(sqlite_url)
    add_candidates(store, 2)
    users(store, "boss", role="admin")

    def open_page(path: str) -> AppTest:
        at = signed_in(AppTest.from_file(str(ROOT / "nearmiss/app/main.py"), default_timeout=120),
                       Store(os.environ["NEARMISS_DB"]), "boss", "admin").run()
        return at.switch_page(str(ROOT / "nearmiss/app" / path)).run()

    yield store, open_page
    st.cache_resource.clear()


def _boom(*args, **kwargs):
    raise RuntimeError(f"boom in {SECRET}")


def _shown(at: AppTest) -> str:
    """Every text the page put on screen, as one string."""
    return "\n".join(str(getattr(el, "value", "")) for el in at.main) + "\n".join(str(e.value) for e in at.exception)


def _assert_one_line(at: AppTest, caplog) -> None:
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and ONE_LINE.fullmatch(errors[0]), errors
    assert not at.exception
    shown = _shown(at)
    assert "Traceback" not in shown and SECRET not in shown and "RuntimeError" not in shown
    error_id = ONE_LINE.fullmatch(errors[0]).group(1)
    logged = [r for r in caplog.records if r.name == "nearmiss.app" and error_id in r.getMessage()]
    assert len(logged) == 1 and SECRET in logged[0].exc_text and "Traceback" in logged[0].exc_text


@pytest.mark.parametrize("path", sorted(f"pages/{p.name}" for p in (ROOT / "nearmiss/app/pages").glob("*.py")))
def test_every_page_shows_a_failure_as_one_line_with_an_id(app, monkeypatch, caplog, path):
    _, open_page = app
    caplog.set_level(logging.ERROR, logger="nearmiss.app")
    monkeypatch.setattr(st, "title", _boom)  # every page calls it first thing after the role check
    _assert_one_line(open_page(path), caplog)


def test_a_library_failure_is_one_line(app, monkeypatch, caplog):
    _, open_page = app
    caplog.set_level(logging.ERROR, logger="nearmiss.app")
    monkeypatch.setattr(nearmiss.load.datasets, "dataset_stats", _boom)
    _assert_one_line(open_page("pages/datasets.py"), caplog)


def test_a_failure_inside_a_fragment_is_one_line_and_the_page_around_it_shows(app, monkeypatch, caplog):
    _, open_page = app
    caplog.set_level(logging.ERROR, logger="nearmiss.app")
    monkeypatch.setattr(nearmiss.label.desk, "progress", _boom)  # the desk counts it inside the Label page's fragment
    at = open_page("pages/label.py")
    _assert_one_line(at, caplog)
    assert at.title[0].value == "Label"


def test_a_user_error_no_page_caught_shows_its_message(app, monkeypatch):
    _, open_page = app

    def refuse(*args, **kwargs):
        raise ConfigError("dataset name: give one")

    monkeypatch.setattr(nearmiss.load.datasets, "dataset_stats", refuse)
    at = open_page("pages/datasets.py")
    assert [e.value for e in at.error] == [r"dataset name\: give one"] and not at.exception


def test_guideline_images_show_as_links(app):
    store, open_page = app
    (boss,) = users(store, "boss", role="admin")
    save_guideline(store, boss, "quiz", "Near-miss: **tempting**.\n\n![tracker](http://127.0.0.1:9/pixel.png)")
    at = open_page("pages/label.py")
    rules = [m.value for m in at.markdown if "tracker" in m.value]
    assert rules == ["Near-miss: **tempting**.\n\n\\![tracker](http://127.0.0.1:9/pixel.png)"]
