"""The README stays true, as sqlite-utils' tests/test_docs.py keeps its docs: every path of this repository it
names exists, every `nearmiss ...` command it names is a real command, every command is named in it, and the
tests mirror the package as it says."""
from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, cli_commands

README = (ROOT / "README.md").read_text()
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
PROSE = FENCED.sub("", README)
SPANS = re.findall(r"`([^`]+)`", PROSE)  # inline code; may wrap a line
CODE = [*FENCED.findall(README), *SPANS]
# anywhere in the README (prose, spans, code blocks): a path under one of the checkout's folders
UNDER_ROOT = re.compile(r"(?<![\w./~-])((?:nearmiss|bench|tests)/[\w./*-]*)")
# a whole span that is one relative path (`miners/worker.py`, `./dev.sh`) or a file name (`evaluate.py`)
PATH_SPAN = re.compile(r"(?:\./)?([\w.][\w.-]*/[\w./*-]*|[\w.-]+\.(?:py|sh|txt|toml|md))")
NOT_OURS = {  # spans shaped like paths that name no file of this repository
    "artifacts/": "the folder the tests write screenshots to",
    ".streamlit/secrets.toml": "the deployment's Streamlit secrets (single sign-on, not built here)",
    "lp_sum/token/char": "score names", "margin_sum/token/char": "score names",
    "hydratrain.py": "the Likra code's trainer",
}
COMMAND = re.compile(r"(?<![\w./$-])nearmiss((?: +[a-z][\w-]*)+)")


def _layout_paths() -> set[str]:
    """The folders of the Layout section's tree: each entry below its parent, and each `name/` its description
    names inside that entry (`pools/` on the mine/ line is nearmiss/mine/pools/)."""
    layout = FENCED.search(README, README.index("## Layout"))
    assert layout, "the README's Layout section has no code block"
    found: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, path) of the entries enclosing the current line
    for line in layout.group(1).splitlines():
        entry = re.match(r"( *)(\S+/)(?:\s|$)", line)
        if entry:
            indent = len(entry.group(1))
            stack = [(i, p) for i, p in stack if i < indent]
            stack.append((indent, (stack[-1][1] if stack else "") + entry.group(2)))
            found.add(stack[-1][1])
        description = line[entry.end():] if entry else line
        found |= {stack[-1][1] + name for name in re.findall(r"(?<![\w/.<>-])([\w-]+/)(?![\w<])", description)}
    return found


def _named_paths() -> set[str]:
    spans = {m.group(1) for s in SPANS if (m := PATH_SPAN.fullmatch(s.strip()))}
    links = {t for t in re.findall(r"\]\(([^)\s]+)\)", PROSE) if not t.startswith(("#", "http:", "https:"))}
    under = {p.rstrip(".") for p in UNDER_ROOT.findall(README)}
    return (spans | links | under | _layout_paths()) - NOT_OURS.keys()


def _exists(path: str) -> bool:
    """A path from the checkout's root; a bare module name (`evaluate.py`, in the section of its package) may
    stand anywhere under nearmiss/."""
    if "*" in path:
        return any(ROOT.glob(path))
    if (ROOT / path).exists():
        return True
    return "/" not in path and path.endswith(".py") and any((ROOT / "nearmiss").rglob(path))


@pytest.mark.parametrize("path", sorted(_named_paths()))
def test_named_path_exists(path):
    assert _exists(path), f"README names {path}, which is not in the repository"


def _commands() -> dict[tuple[str, ...], object]:
    return {path: cmd for path, cmd in cli_commands() if path}


def _named_commands() -> set[tuple[str, ...]]:
    """Each `nearmiss ...` in code, as the names its words walk through the command tree: words after a
    command that is not a group are its arguments; a word that names no command ends the walk, kept."""
    commands, named = _commands(), set()
    for words in (m.split() for text in CODE for m in COMMAND.findall(text)):
        path: tuple[str, ...] = ()
        for word in words:
            if path and not hasattr(commands.get(path), "commands"):
                break
            path = (*path, word)
            if path not in commands:
                break
        named.add(path)
    return named


@pytest.mark.parametrize("path", sorted(_named_commands()), ids=" ".join)
def test_named_command_exists(path):
    assert path in _commands(), f"README names `nearmiss {' '.join(path)}`, which is no command"


@pytest.mark.parametrize("path", sorted(_commands()), ids=" ".join)
def test_command_is_documented(path):
    named = {p[:len(path)] for p in _named_commands()}
    assert path in named, f"`nearmiss {' '.join(path)}` is not named in the README"


def test_tests_mirror_the_package():
    """The README's layout says tests/<stage>/ for every stage folder of nearmiss/ (and e2e beside them)."""
    assert "mirrors the package (tests/<stage>/)" in README
    stages = {p.name for p in (ROOT / "nearmiss").iterdir() if (p / "__init__.py").exists()}
    tests = {p.name for p in (ROOT / "tests").iterdir() if (p / "__init__.py").exists()} - {"e2e"}
    assert tests == stages, {"stages without tests": stages - tests, "tests of no stage": tests - stages}
