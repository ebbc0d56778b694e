"""A GGUF causal LM written out as a normal HF folder, one tensor at a time.

transformers' GGUF loader builds the whole model and dequantises into it; for gemma-3-270m
(262k-token vocabulary) that did not finish in 54 minutes on a loaded 2-core machine
(bench/RESULTS.md "Active labeling"). Here each tensor is read from the memory-mapped file,
dequantised by the ``gguf`` package, renamed and reshaped by transformers' own GGUF
tables (config keys, tensor processors, GGUF-to-HF name map of a model built on the meta
device, so no weights are allocated) and written to safetensors shards of at most
``shard_bytes``: memory stays at about one shard. The tokenizer is transformers' GGUF
tokenizer, saved as is.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
SHARD_BYTES = 512 << 20  # float32 safetensors shards of at most 512 MiB (one tensor may exceed it alone)


def _name_map(config, architecture: str, config_dict: dict) -> tuple[dict[str, str], Any]:
    """(GGUF tensor name -> HF parameter name, transformers' tensor processor for the
    architecture); records the model class in ``config.architectures`` as saving a model does."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import (
        TENSOR_PROCESSORS,
        TensorProcessor,
        get_gguf_hf_weights_map,
    )

    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    config.architectures = [type(skeleton).__name__]
    processor = TENSOR_PROCESSORS.get(architecture, TensorProcessor)(config=config_dict)
    return get_gguf_hf_weights_map(skeleton, processor), processor


def _write_shards(tensors, out: Path, shard_bytes: int) -> dict[str, str]:
    """Write ``(name, float32 array)`` pairs to numbered safetensors shards; the weight map."""
    import torch
    from safetensors.torch import save_file

    weight_map: dict[str, str] = {}
    shard: dict[str, torch.Tensor] = {}
    size, count = 0, 0

    def flush() -> None:
        nonlocal shard, size, count
        if shard:
            count += 1
            name = f"model-{count:05d}.safetensors"
            save_file(shard, str(out / name), metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(shard, name))
            shard, size = {}, 0

    for name, array in tensors:
        if size and size + array.nbytes > shard_bytes:
            flush()
        shard[name] = torch.from_numpy(np.require(array, np.float32, ["C", "W"]))
        size += array.nbytes
    flush()
    return weight_map


def convert_gguf(gguf: Path, out: Path, shard_bytes: int = SHARD_BYTES) -> None:
    """Write the GGUF causal LM at ``gguf`` to ``out`` as config, float32 safetensors
    shards with their index, and tokenizer."""
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from tqdm import tqdm
    from transformers import AutoConfig, AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config_dict = config.to_dict()
    reader = GGUFReader(gguf)
    architecture = str(bytes(reader.fields["general.architecture"].parts[-1]), "utf-8")
    names, processor = _name_map(config, architecture, config_dict)

    def tensors():
        for t in tqdm(reader.tensors, desc=f"converting {gguf.name}", unit="tensor"):
            # np.asarray: a plain view of the memory map (indexing a np.memmap row by row is ~20x slower)
            weights = dequantize(np.asarray(t.data), t.tensor_type)
            result = processor.process(weights=weights, name=t.name, tensor_key_mapping=names,
                                       parsed_parameters={"config": config_dict, "tensors": {}})
            if result.name in names:  # GGUF extras (rope frequencies) have no HF parameter
                yield names[result.name], result.weights

    weight_map = _write_shards(tensors(), out, shard_bytes)
    total = sum((out / f).stat().st_size for f in set(weight_map.values()))
    (out / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, indent=2))
    config.dtype = "float32"
    config.save_pretrained(out)
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(out)
    log.info("converted %s (%s, %d tensors) to %s", gguf.name, architecture, len(weight_map), out)
