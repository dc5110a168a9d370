# Two commands matter: `make demo` (the main job, on the local emulator) and
# `make test` (the whole suite). Both build the virtualenv from the project's
# own requirements files first; nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 9000

# $(call debian_package,COMMAND,WHAT FOR): install Debian's package COMMAND (the package and
# its command share the name) once, when the command is not on PATH.
debian_package = @command -v $(1) >/dev/null 2>&1 || { \
	  echo "installing Debian's $(1) for $(2)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1); }

.PHONY: venv test lint compat demo emulator package bench browser clean clients clients-install scf-events soak

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Function code must run on every supported SCF runtime, the oldest being the
# Python3.7 that serverless.yml names: vermin proves the minimum version of every
# construct and stdlib name in functions/ and shared/ (and the suite runs the
# built package on each runtime's CPython found here).
compat: venv
	$(BIN)/vermin --no-tips --violations --target=3.7- --eval-annotations --no-parse-comments -q functions shared

lint: venv
	$(BIN)/ruff check .

# The page tests drive a real headless Chromium: Debian's package, installed
# once (playwright's own browser download cannot work offline and is not used).
browser:
	$(call debian_package,chromium,the page tests)

# clients-install: the README's client snippets and a slice of the Node SDK's own suite run
# in the suite (tests/integration/clients); the whole external suites run in `make clients`.
test: venv compat lint browser clients-install
	$(BIN)/python -m pytest -n 2

demo: venv
	$(BIN)/picops demo

# Signatures are checked: without an exported key pair the emulator takes the local one
# the README's "next steps" use (AKIDlocal / local-secret).
emulator: venv
	TENCENTCLOUD_SECRETID="$${TENCENTCLOUD_SECRETID:-AKIDlocal}" \
	TENCENTCLOUD_SECRETKEY="$${TENCENTCLOUD_SECRETKEY:-local-secret}" \
	$(BIN)/picops emulator --port $(PORT) --data-dir .picops

# build/package (serverless.yml's src) and build/package.zip (console / SCF API
# upload) for serverless.yml's runtime, or RUNTIME=Python3.9 / Python3.10.
package: venv
	$(BIN)/python -m picops_cli.package --out build/package --zip build/package.zip \
	  $(if $(RUNTIME),--runtime $(RUNTIME))

# Tencent's SCF CLI (on a CPython 3.7, in build/scf-cli) regenerates the COS event
# fixtures tests/events/scf_cli_cos_{put,post,delete}.json.
scf-events: venv
	$(BIN)/python -m picops_cli.scf_events

bench: venv
	$(BIN)/python -m bench

# The long fault soak (README "Fault soak"): SOAK_SECONDS of clients, CI errors, function
# crashes and timeouts, and kill -9s of the emulator; prints its report as JSON.
# SOAK_INTERVAL=0.15 is the harsh one: an operation every 0.15 s across the clients.
SOAK_SECONDS ?= 300
soak: venv
	$(BIN)/python -m tests.soak.soak --seconds $(SOAK_SECONDS) $(if $(SOAK_INTERVAL),--interval $(SOAK_INTERVAL))

# Clients nobody here wrote, against the emulator (issue 11): cos-nodejs-sdk-v5's own test
# suite (npm) and Tencent's coscmd (pip), installed into build/clients, never committed.
# Fails when any case inside the emulator's subset fails; the cases outside it are listed
# with their reason in tests/clients/*/outside.tsv. NODE_SDK_SRC=<checkout> runs the suite
# of another revision of the SDK (see tests/clients/install.py).
clients-install: venv
	$(call debian_package,curl,the README's plain-HTTP snippet)
	$(BIN)/python -m tests.clients.install

clients: clients-install
	$(BIN)/python -m tests.clients.coscmd_suite
	$(BIN)/python -m tests.clients.node_suite

clean:
	rm -rf build .picops .pytest_cache
