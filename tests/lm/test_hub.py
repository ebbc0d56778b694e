"""Models named by Hugging Face hub id (``nearmiss.lm.models.model_folder``), read from a fake hub cache laid out
as huggingface_hub lays one out, holding the bundled models' files; offline throughout."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from nearmiss.errors import NotFoundError
from nearmiss.lm.loglik import score_continuations
from nearmiss.lm.models import embedder_path, lm_path, load_embedder, load_lm

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cache_repo(cache: Path, repo_id: str, source: Path) -> Path:
    """Put ``source``'s files in ``cache`` as the hub's cache holds ``repo_id``: blobs named by hash
    (hard links to the files here, copies across devices), a snapshot of relative symlinks to them and
    ``refs/main`` naming its commit. Returns the snapshot folder."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True)
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = file.relative_to(source)
        blob = repo / "blobs" / hashlib.sha256(str(rel).encode()).hexdigest()  # the hub names it by content hash
        try:
            os.link(file, blob)
        except OSError:
            shutil.copyfile(file, blob)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    """An empty hub cache that HF_HUB_CACHE points at, hub downloads off."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_a_hub_id_resolves_to_its_snapshot_in_the_cache(hub):
    from huggingface_hub import scan_cache_dir

    lm = cache_repo(hub, "org/smol", lm_path())
    embedder = cache_repo(hub, "sentence-transformers/mini", embedder_path())
    scan = scan_cache_dir(hub)  # huggingface_hub reads the fake cache as its own
    assert not scan.warnings and {r.repo_id for r in scan.repos} == {"org/smol", "sentence-transformers/mini"}
    assert lm_path("org/smol") == lm and embedder_path("sentence-transformers/mini") == embedder
    assert lm_path(str(lm_path())) == lm_path()  # a local folder is itself


def test_an_lm_by_hub_id_scores_as_the_bundled_one(hub, lm32):
    snapshot = cache_repo(hub, "org/smol", lm_path())
    model, tok = load_lm.__wrapped__("org/smol", "float32")  # uncached: the session's model cache stays as it was
    assert model.config._name_or_path == str(snapshot)
    contexts, conts = ["Question: What is the sun?\nAnswer:"], [[" A star.", " A planet made of cheese."]]
    by_id = score_continuations(model, tok, contexts, conts)
    bundled = score_continuations(*lm32, contexts, conts)
    assert [[c.logprob for c in row] for row in by_id] == [[c.logprob for c in row] for row in bundled]


def test_an_embedder_by_hub_id_embeds_as_the_bundled_one(hub):
    cache_repo(hub, "sentence-transformers/mini", embedder_path())
    texts = ["The sun is a star.", "Water boils at 100 C."]
    by_id = load_embedder.__wrapped__("sentence-transformers/mini").encode(texts)
    assert by_id.shape == (2, 384) and np.array_equal(by_id, load_embedder().encode(texts))


@pytest.mark.parametrize("resolve", [lm_path, embedder_path])
def test_a_hub_id_missing_from_the_cache_is_one_line_naming_it_and_the_cache(hub, resolve):
    with pytest.raises(NotFoundError) as e:
        resolve("org/missing")
    message = str(e.value)
    assert "'org/missing'" in message and str(hub) in message and "HF_HUB_OFFLINE=0" in message
    assert "\n" not in message


def test_models_prepare_takes_hub_ids_and_names_a_missing_one(cli, hub, tmp_path):
    lm = cache_repo(hub, "org/smol", lm_path())
    embedder = cache_repo(hub, "sentence-transformers/mini", embedder_path())
    db = f"sqlite:///{tmp_path / 'x.db'}"
    out = cli("models", "prepare", "--lm", "org/smol", "--embedder", "sentence-transformers/mini", db=db)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"ready: {lm}", f"ready: {embedder}"]
    missing = cli("models", "prepare", "--lm", "org/missing", db=db)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr, missing.stderr
    assert [line for line in missing.stderr.splitlines() if line.strip()] == [
        f"Error: LM 'org/missing' is not in the Hugging Face cache at {hub} and HF_HUB_OFFLINE is set: rerun with "
        "HF_HUB_OFFLINE=0 to download it, or use one of smollm2-135m, gemma-3-270m"]
