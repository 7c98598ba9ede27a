# nasbench — every target sets itself up: a virtual environment in .venv with pinned versions.
#   make demo   install, then score 300 NB201 architectures with NASWOT on CIFAR-10 and correlate
#   make test   install, then run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NB     := $(VENV)/bin/nasbench
# Data: $NASBENCH_DATA, else ../shared/data when present, else the user cache (nasbench decides).
DATA_DIR ?= $(or $(NASBENCH_DATA),$(wildcard ../shared/data))
DATA_OPT := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)
include configs/nb201-naswot.env
OUT ?= results/$(SPACE)-$(DATASET)-$(PROXY)-n$(N)-seed$(SEED).csv

.PHONY: install demo test bench kendall-nb201 clean

$(VENV)/.installed: pyproject.toml requirements-ci.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-ci.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(NB) data download $(DATASET) --if-missing $(DATA_OPT)
	$(NB) score --space $(SPACE) --dataset $(DATASET) --proxy $(PROXY) --n $(N) --seed $(SEED) $(DATA_OPT) --out $(OUT)
	@if head -1 $(OUT) | grep -q '$(TARGET)'; then \
		$(NB) correlate $(OUT) --target $(TARGET); \
	else \
		echo "No $(TARGET) column: place the NB201 ground truth (nasbench data status says where) to correlate."; \
	fi

kendall-nb201: demo

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) scripts/bench_naswot.py --n 30 --batch-size 128 $(DATA_OPT)

clean:
	rm -rf $(VENV) .pytest_cache
