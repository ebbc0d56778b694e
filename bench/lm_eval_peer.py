"""The real lm-eval-harness CLI as a peer: the same items, model and prompt, run as a subprocess.

    PYTHONPATH=. python bench/lm_eval_peer.py            # zero-shot acc / acc_norm: nearmiss train vs lm_eval

lm-eval lives in its own virtualenv (a bench extra, never a test dependency):
``python -m venv /work/lmeval-venv && /work/lmeval-venv/bin/pip install torch==2.13.0 &&
/work/lmeval-venv/bin/pip install lm-eval==0.4.13 transformers==5.23.0 accelerate==1.15.0``;
``LM_EVAL`` points at another ``lm_eval`` executable (a ``python`` beside it runs it, through
bench/lm_eval_fed.py, which counts the positions lm-eval feeds its model). The items go to lm-eval as a local JSON task
whose prompt is nearmiss's (``Question: ...\\nAnswer:``, target delimiter " "). lm-eval's acc_norm
(``lm_eval/api/task.py``, ``ConfigurableTask.process_results``) is
``argmax(loglikelihood / len(choice))`` with the choice text as the task gives it, without the
target delimiter.

The main entry compares ``nearmiss train --dataset arc-easy --methods sft --sizes 0 --json``
(zero-shot, fp32) with ``lm_eval`` on the same eval items; the last line is
``acc=<ours>/<lm_eval> acc_norm=<ours>/<lm_eval> equal=<true|false>`` (four digits).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nearmiss.lm.prompts import mcqa_prompt

LM_EVAL = Path(os.environ.get("LM_EVAL", "/work/lmeval-venv/bin/lm_eval"))
TASK = "nearmiss_peer"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class PeerResult:
    acc: float
    acc_norm: float
    seconds: float  # wall time of the whole CLI run (start-up and model load included)
    positions: int  # token positions fed to the model, padding included (all projected onto the vocabulary)


def write_task(items: list, folder: Path) -> None:
    """``items`` (MCQA, as loaded) as a JSONL file and an lm-eval task YAML over it in ``folder``."""
    rows = [{"prompt": mcqa_prompt(it.question, it.context), "choices": [c.strip() for c in it.choices],
             "gold": it.gold} for it in items]
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / f"{TASK}.yaml").write_text(
        f"task: {TASK}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {folder / 'items.jsonl'}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: prompt\ndoc_to_choice: choices\n"
        "doc_to_target: gold\ntarget_delimiter: \" \"\nmetric_list:\n  - metric: acc\n  - metric: acc_norm\n")


def run_lm_eval(items: list, model_dir: Path, *, batch_size: int = 16, dtype: str = "float32") -> PeerResult:
    """Run the ``lm_eval`` CLI on ``items`` with the HF model folder ``model_dir`` (CPU or GPU as it finds)."""
    python = LM_EVAL.with_name("python")
    if not (LM_EVAL.exists() and python.exists()):
        raise FileNotFoundError(f"{LM_EVAL} missing: install lm-eval==0.4.13 in its own venv (see {__file__})")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_task(items, folder)
        cmd = [str(python), "-P", str(ROOT / "bench" / "lm_eval_fed.py"),
               "--model", "hf", "--model_args", f"pretrained={model_dir},dtype={dtype}",
               "--include_path", str(folder), "--tasks", TASK, "--batch_size", str(batch_size),
               "--output_path", str(folder / "out")]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "PYTHONPATH": "", "NEARMISS_FED_OUT": str(folder / "fed.json")}
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode:
            raise RuntimeError(f"lm_eval failed ({done.returncode}): {done.stderr[-2000:]}")
        result = json.loads(next((folder / "out").rglob("results_*.json")).read_text())["results"][TASK]
        fed = json.loads((folder / "fed.json").read_text())
    return PeerResult(result["acc,none"], result["acc_norm,none"], seconds, fed["positions"])


def nearmiss_zero_shot(db: str, dataset: str, lm: str) -> dict[str, float]:
    """acc / acc_norm of ``nearmiss train --methods sft --sizes 0 --json`` (fp32) on the eval split of
    ``dataset`` as stored in ``db``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEARMISS_DB": db}
    out = subprocess.run([sys.executable, "-m", "nearmiss.cli", "train", "--dataset", dataset, "--methods", "sft",
                          "--sizes", "0", "--lm", lm, "--set", "dtype=float32", "--json"], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"nearmiss train failed: {out.stderr[-2000:]}")
    point = json.loads(out.stdout.strip().splitlines()[-1])["points"][0]
    return {"acc": point["acc"], "acc_norm": point["acc_norm"]}


def main() -> None:
    from nearmiss.lm.models import lm_path
    from nearmiss.load.sources import open_source

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="arc-easy")
    ap.add_argument("--split", default="validation", help="the split nearmiss train evaluates on (its eval_split)")
    ap.add_argument("--lm", default="smollm2-135m")
    args = ap.parse_args()
    items = list(open_source(args.dataset, split=args.split).items)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/store.db"
        for split in ("test", args.split):  # the trainer's default train split and the eval split
            subprocess.run([sys.executable, "-m", "nearmiss.cli", "load", args.dataset, "--split", split], check=True,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT), "NEARMISS_DB": db})
        ours = nearmiss_zero_shot(db, args.dataset, args.lm)
    peer = run_lm_eval(items, lm_path(args.lm))
    print(f"{args.dataset}/{args.split}: {len(items)} items, {args.lm} fp32, zero-shot")
    print(f"nearmiss train --sizes 0: acc {ours['acc']:.4f} acc_norm {ours['acc_norm']:.4f}")
    print(f"lm_eval 0.4.13:           acc {peer.acc:.4f} acc_norm {peer.acc_norm:.4f} ({peer.seconds:.0f} s)")
    equal = all(f"{ours[k]:.4f}" == f"{v:.4f}" for k, v in (("acc", peer.acc), ("acc_norm", peer.acc_norm)))
    print(f"acc={ours['acc']:.4f}/{peer.acc:.4f} acc_norm={ours['acc_norm']:.4f}/{peer.acc_norm:.4f} "
          f"equal={str(equal).lower()}")


if __name__ == "__main__":
    main()
