"""Data-parallel training under ``accelerate launch``: every process runs the same ``nearmiss``
command; LoRA heads train under DistributedDataParallel (see ``Heads.train_nll``).

    accelerate launch --multi_gpu --num_processes 2 -m nearmiss.train.launch --db URL train --dataset arc-easy ...

Without GPUs the same command runs CPU processes over gloo (``torchrun --nproc_per_node 2 -m
nearmiss.train.launch ...`` too; ``accelerate launch --cpu`` alone starts one process).

Only the main process writes: the others work on a private view of the store (their writes
never reach it; see ``Store``) and save adapters to a scratch folder, so the run, its points and adapters
are stored once. Evaluation runs on every process (the same numbers on each).
"""
from __future__ import annotations

import os
import sys
import tempfile


def main(argv: list[str] | None = None) -> None:
    import torch
    from accelerate import PartialState

    from nearmiss import cli

    args = list(sys.argv[1:] if argv is None else argv)
    if "train" not in args:
        sys.exit("Error: nearmiss.train.launch runs `nearmiss train`: give [--db URL] train [options]")
    state = PartialState(cpu=not torch.cuda.is_available())  # process group (gloo on CPUs, nccl on GPUs), device
    if not state.is_main_process:
        os.environ["NEARMISS_PRIVATE_STORE"] = "1"
        args += ["--set", f"out_dir={tempfile.mkdtemp(prefix=f'nearmiss-rank{state.process_index}-')}"]
    sys.argv = ["nearmiss", *args]
    try:
        cli.main()
    finally:
        state.destroy_process_group()


if __name__ == "__main__":
    main()
