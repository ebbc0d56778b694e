"""The ``lm_eval`` CLI, run in lm-eval's own venv, counting the token positions its HF model is fed.

    <lm-eval venv>/bin/python -P bench/lm_eval_fed.py <lm_eval CLI arguments>

Every input of ``HFLM._model_call`` is counted, padding included; lm-eval 0.4.13 projects all of
them onto the vocabulary. It feeds fewer positions than one sequence per (context, continuation):
requests that share ``context + continuation[:-1]`` are fed once (its one-token-continuation
cache, ``group_by="contexts"``), and batches are padded to their longest sequence. The counts go
as JSON to the file named by ``NEARMISS_FED_OUT``. Run by bench/lm_eval_peer.py; never imported.
"""
import json
import os
from pathlib import Path

from lm_eval.__main__ import cli_evaluate
from lm_eval.models.huggingface import HFLM

fed = {"positions": 0, "forwards": 0}
model_call = HFLM._model_call


def counted(self, inps, *args, **kwargs):
    fed["positions"] += inps.numel()
    fed["forwards"] += 1
    return model_call(self, inps, *args, **kwargs)


HFLM._model_call = counted
cli_evaluate()
Path(os.environ["NEARMISS_FED_OUT"]).write_text(json.dumps(fed))
