"""The streamed GGUF conversion gives the model transformers' own GGUF loader gives: same
tokens, same logits (SmolLM2 here; gemma-3-270m, 262k vocabulary, in the slow suite)."""
import pytest
import torch

from nearmiss.lm.gguf_convert import convert_gguf
from nearmiss.lm.models import LMS

TEXT = "Which gas do plants take in? Carbon dioxide, not oxygen."


def _same_model(name: str, tmp_path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = LMS[name].gguf(tmp_path)
    out = tmp_path / "converted"
    convert_gguf(gguf, out, shard_bytes=64 << 20)
    assert len(list(out.glob("model-*.safetensors"))) > 1  # written shard by shard
    ours_tok = AutoTokenizer.from_pretrained(str(out))
    ref_tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    ids = ref_tok(TEXT, return_tensors="pt").input_ids
    assert torch.equal(ours_tok(TEXT, return_tensors="pt").input_ids, ids)
    ours = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    ref = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32).eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, ref(ids).logits, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_smollm2_streamed_equals_the_transformers_loader(tmp_path):
    _same_model("smollm2-135m", tmp_path)


@pytest.mark.slow
def test_gemma_streamed_equals_the_transformers_loader(tmp_path):
    _same_model("gemma-3-270m", tmp_path)
