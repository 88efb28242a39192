"""generate_json / stream_json / generate / stream on the tiny random model.

The grammar side is a stand-in (a fixed set of strings) so that these tests pin down the API's
own duties: input resolution, prompts, budget errors, streaming and validation by `jsonschema`.
"""

from __future__ import annotations

import json
import sys
import types

import jsonschema
import pytest
import torch
from tiny_lm import StandInCompiled, tiny_model, tiny_tokenizer, tiny_vocab, use_stand_in_matcher

from grammar_decode import api
from grammar_decode.errors import InvalidSchemaError, TokenBudgetExceeded

torch.set_num_threads(1)
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"},
                                           "age": {"type": "integer", "minimum": 0}},
          "required": ["name"], "additionalProperties": False}
VALID_DOCS = ('{"name":"Ada"}', '{"name":"Ada","age":36}', '{"name":"\u20ac\u00df"}')


@pytest.fixture(scope="module")
def pair():
    return tiny_model(), tiny_tokenizer()


@pytest.fixture
def language(monkeypatch):
    """Make every schema/grammar compile to the language of the strings set in the list."""
    use_stand_in_matcher(monkeypatch)
    strings: list[str] = list(VALID_DOCS)

    def compiled(*args, **kwargs):
        return StandInCompiled(tiny_vocab(), tuple(s.encode() for s in strings))

    monkeypatch.setattr(api, "compile_schema", compiled)
    monkeypatch.setattr(api, "compile_grammar_text", compiled)
    return strings


def test_load_schema_accepts_every_form(tmp_path):
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):
        name: str
        age: int = 0

    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCHEMA))
    assert api.load_schema(SCHEMA) is SCHEMA
    assert api.load_schema(json.dumps(SCHEMA)) == SCHEMA
    assert api.load_schema(str(path)) == SCHEMA == api.load_schema(path)
    assert api.load_schema(Person) == Person.model_json_schema()
    assert api.load_schema("true") is True


def test_load_schema_errors_name_where(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "object",\n  "properties": }')
    with pytest.raises(InvalidSchemaError, match=r"bad.json:2:17: invalid JSON"):
        api.load_schema(str(bad))
    with pytest.raises(FileNotFoundError, match="missing.json"):
        api.load_schema(str(tmp_path / "missing.json"))
    with pytest.raises(TypeError):
        api.load_schema(42)


def test_chat_template_has_system_schema_and_generation_prompt():
    tokenizer = tiny_tokenizer()
    old = tokenizer.chat_template
    tokenizer.chat_template = ("{% for m in messages %}[{{ m.role }}]{{ m.content }}\n"
                               "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}")
    try:
        ids = api.prompt_token_ids(tokenizer, "Who?", system=api.json_system_message(SCHEMA))
        plain = api.prompt_token_ids(tokenizer, "Who?", chat=False)
    finally:
        tokenizer.chat_template = old
    text = tokenizer.decode(ids)
    assert text.startswith("[system]") and json.dumps(SCHEMA) in text
    assert text.endswith("[user]Who?\n[assistant]")
    assert tokenizer.decode(plain) == "Who?"
    assert api.prompt_token_ids(tokenizer, "", chat=False) == [tokenizer.eos_token_id]


@pytest.mark.parametrize("temperature,seed", [(0.0, None), (1.2, 1), (1.2, 2)])
def test_generate_json_returns_valid_parsed_value(pair, language, temperature, seed):
    value = api.generate_json(SCHEMA, "Tell me about Ada", model=pair, max_new_tokens=60,
                              temperature=temperature, seed=seed)
    jsonschema.Draft202012Validator(SCHEMA).validate(value)
    assert value in [json.loads(d) for d in VALID_DOCS]


def test_generate_json_refuses_output_that_violates_the_schema(pair, language):
    language[:] = ['{"name":"Ada","age":-1}']  # the stand-in grammar over-generates
    with pytest.raises(api.OutputValidationError, match=r"at /age .*minimum"):
        api.generate_json(SCHEMA, "x", model=pair, max_new_tokens=60)
    language[:] = ['{"name":"Ada"']
    with pytest.raises(api.OutputValidationError, match="not JSON"):
        api.generate_json(SCHEMA, "x", model=pair, max_new_tokens=60)


def test_budget_exceeded_carries_partial_text(pair, language):
    language[:] = ['{"name":"Ada","age":36}']
    with pytest.raises(TokenBudgetExceeded) as info:
        api.generate_json(SCHEMA, "x", model=pair, max_new_tokens=3)
    assert info.value.partial_text and language[0].startswith(info.value.partial_text)
    assert info.value.max_new_tokens == 3
    with pytest.raises(TokenBudgetExceeded):
        list(api.stream_json(SCHEMA, "x", model=pair, max_new_tokens=3))


def test_stream_json_holds_back_partial_utf8(pair, language):
    language[:] = ['{"name":"\u20ac\u00df\u20ac"}']  # multi-byte chars absent from the corpus
    chunks = list(api.stream_json(SCHEMA, "x", model=pair, max_new_tokens=60))
    assert "".join(chunks) == language[0]
    assert all(c and "\ufffd" not in c for c in chunks)
    n_tokens = len(tiny_tokenizer()(language[0])["input_ids"])
    assert len(chunks) < n_tokens or n_tokens == len(language[0])


def test_generate_and_stream_with_grammar(pair, language):
    language[:] = ["yes", "no", "maybe"]
    text = api.generate('start: "yes" | "no" | "maybe"', "Answer:", model=pair,
                        max_new_tokens=10)
    assert text in language
    assert "".join(api.stream('start: "yes" | "no" | "maybe"', "Answer:", model=pair,
                              max_new_tokens=10)) == text
    with pytest.raises(ValueError, match="method"):
        api.generate("start: x", "p", model=pair, method="beam")


def test_default_model_is_loaded_once(monkeypatch, pair):
    calls = []
    fake = types.ModuleType("grammar_decode.models")
    fake.load_model = lambda name=None: calls.append(name) or pair
    monkeypatch.setitem(sys.modules, "grammar_decode.models", fake)
    api._load_model_cached.cache_clear()
    try:
        assert api.resolve_model(None) == pair and api.resolve_model(None) == pair
        assert calls == [None]
    finally:
        api._load_model_cached.cache_clear()
    assert api.resolve_model(pair) == pair
    with pytest.raises(TypeError):
        api.resolve_model(3)


def test_asap_method_returns_valid_json_and_respects_budget(pair, language):
    values = [api.generate_json(SCHEMA, "Tell me about Ada", model=pair, max_new_tokens=60,
                                method="asap", seed=s) for s in range(3)]
    assert all(v in [json.loads(d) for d in VALID_DOCS] for v in values)
    with pytest.raises(TokenBudgetExceeded):
        api.generate_json(SCHEMA, "x", model=pair, max_new_tokens=2, method="asap")


@pytest.mark.slow
def test_embedded_smollm2_generates_schema_valid_json():
    pytest.importorskip("grammar_decode.models")
    pytest.importorskip("grammar_decode.vocab.vocabulary")
    schema = {"type": "object",
              "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 20},
                             "age": {"type": "integer", "minimum": 0, "maximum": 120}},
              "required": ["name", "age"], "additionalProperties": False}
    value = api.generate_json(schema, "Invent a person.", max_new_tokens=40)
    validator = jsonschema.Draft202012Validator
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(value)
    streamed = "".join(api.stream_json(schema, "Invent a person.", max_new_tokens=40))
    assert json.loads(streamed) == value  # greedy: the same document, chunk by chunk


def test_generate_json_with_real_schema_compiler_on_tiny_model(pair):
    pytest.importorskip("grammar_decode.vocab.vocabulary")
    schema = {"type": "object",
              "properties": {"ok": {"type": "boolean"}, "n": {"enum": [1, 2, "three"]},
                             "tag": {"type": "string", "pattern": "^[a-z]{2}$"}},
              "required": ["ok", "n", "tag"], "additionalProperties": False}
    validator = jsonschema.Draft202012Validator(schema)
    for seed in range(3):
        value = api.generate_json(schema, "x", model=pair, temperature=1.0, seed=seed,
                                  max_new_tokens=40)
        validator.validate(value)
        chunks = list(api.stream_json(schema, "x", model=pair, temperature=1.0, seed=seed,
                                      max_new_tokens=40))
        assert json.loads("".join(chunks)) == value  # same seed, same sample


def test_generate_with_real_grammars_on_tiny_model(pair, tmp_path):
    pytest.importorskip("grammar_decode.vocab.vocabulary")
    lark_file = tmp_path / "answer.lark"
    lark_file.write_text('start: ANSWER " " NUMBER\nANSWER: "yes" | "no"\nNUMBER: /[1-9][0-9]?/\n')
    gbnf = 'root ::= ("yes" | "no") " " [1-9] [0-9]?'
    for grammar in (str(lark_file), lark_file, gbnf):
        for seed in range(2):
            text = api.generate(grammar, "Answer:", model=pair, temperature=1.0, seed=seed,
                                max_new_tokens=20)
            answer, number = text.split(" ")
            assert answer in ("yes", "no") and 1 <= int(number) <= 99 and number[0] != "0"
    with pytest.raises(FileNotFoundError):
        api.generate(str(tmp_path / "missing.lark"), "x", model=pair)


def test_stream_input_errors_raise_at_call(pair, tmp_path):
    with pytest.raises(FileNotFoundError):
        api.stream_json(str(tmp_path / "none.json"), "x", model=pair)
    with pytest.raises(FileNotFoundError):
        api.stream(tmp_path / "none.lark", "x", model=pair)
