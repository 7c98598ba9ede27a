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
# a quick run (the demo, any target without FULL=1) writes under results/local/ (git-ignored, and
# never read by `make report`): the committed tables of record are replaced only with FULL=1
LOCAL  ?= results/local
OUT ?= $(LOCAL)/demo/$(SPACE)-$(DATASET)-$(PROXY)-n$(N)-seed$(SEED).csv

.PHONY: install demo test test-slow bench bench-gpu kendall zerocost zerocost-augment paper-kendall paper table-nb201 table-nb101 table-predict table-proxies report clean

$(VENV)/.installed: pyproject.toml requirements-ci.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-ci.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

# offline with no data dir named, `data download --if-missing` warns and the embedded CIFAR-10 sample stands in
demo: install
	$(NB) data download $(DATASET) --if-missing $(DATA_OPT)
	$(NB) score --space $(SPACE) --dataset $(DATASET) --proxy $(PROXY) --n $(N) --seed $(SEED) $(DATA_OPT) --out $(OUT)
	@if head -1 $(OUT) | grep -q '$(TARGET)'; then \
		$(NB) correlate $(OUT) --target $(TARGET); \
	else \
		echo "No $(TARGET) column: place the NB201 ground truth (nasbench data status says where) to correlate."; \
	fi

test: install
	$(PY) -m pytest -q

# the checks left out of `make test` for time (`--proxy all` and ntk's seeds line of the README, ~3 min)
test-slow: install
	$(PY) -m pytest -q -m slow

bench: install
	$(PY) scripts/bench_naswot.py --n 30 --batch-size 128 $(DATA_OPT)
	$(PY) scripts/bench_scale.py --n 40 $(DATA_OPT)

# on a GPU machine: split, throughput, scaling, tolerance, tests; one table (results/gpu-check/)
bench-gpu: install
	PYTHON=$(PY) scripts/gpu_check.sh $(DATA_DIR)

# --- paper tables: small CPU scale by default, the paper's scale with FULL=1 -----------------------
# Default: a quick run written under $(LOCAL)/ (the committed results/ untouched); FULL=1: the
# committed scale, written over the tables of record in results/ (RESULTS=dir to choose).
FULL        ?=
RESULTS     ?= $(if $(FULL),results,$(LOCAL))
RUNS        ?= $(if $(FULL),500,10)
NASWOT_NS   ?= $(if $(FULL),10 100 1000,10)
BUDGET      ?= 12000s
KENDALL_N   ?= $(if $(FULL),all,300)
KENDALL_SELECT = $(if $(filter all,$(KENDALL_N)),--all,--n $(KENDALL_N))
KENDALL_DATASETS ?= cifar10
ZC_N        ?= $(if $(FULL),1000,50)
ZC_PROXIES  ?= grad_norm,snip,grasp,fisher,synflow,jacob_cov
# official: the benchmark's network (the default everywhere); zc: the zero-cost code's re-implementation
ZC_VARIANTS ?= official zc
comma       := ,
empty       :=
space       := $(empty) $(empty)
ZC_LAST_COL  = $(shell echo $$((2 + $(words $(subst $(comma), ,$(ZC_PROXIES))))))
zc_stem      = nb201-$(1)$(if $(filter official,$(2)),,-$(2))
ZC_CORRELATIONS = $(foreach d,$(KENDALL_DATASETS),$(foreach v,official zc augment,\
	$(if $(wildcard $(RESULTS)/zerocost/$(call zc_stem,$(d),$(v)).correlation.csv),\
	nb201/$(d)$(if $(filter official,$(v)),,:$(v))=$(RESULTS)/zerocost/$(call zc_stem,$(d),$(v)).correlation.csv)))
SEARCH       = $(NB) search --space $(1) --dataset cifar10 --seed 0 $(DATA_OPT) --quiet

table-nb201: install
	mkdir -p $(RESULTS)/nb201
	for n in $(NASWOT_NS); do $(call SEARCH,nb201) --algo naswot --n $$n --runs $(RUNS) --out $(RESULTS)/nb201/naswot-n$$n.csv; done
	$(call SEARCH,nb201) --algo random --runs 500 --out $(RESULTS)/nb201/random.csv
	$(call SEARCH,nb201) --algo rea --runs 500 --budget $(BUDGET) --out $(RESULTS)/nb201/rea.csv
	$(call SEARCH,nb201) --algo area --runs $(RUNS) --budget $(BUDGET) --out $(RESULTS)/nb201/area.csv
	$(PY) scripts/paper_table.py search $(RESULTS)/table-nb201.csv \
		$(foreach n,$(NASWOT_NS),"NASWOT N=$(n)=$(RESULTS)/nb201/naswot-n$(n).summary.csv") \
		Random=$(RESULTS)/nb201/random.summary.csv REA=$(RESULTS)/nb201/rea.summary.csv AREA=$(RESULTS)/nb201/area.summary.csv

table-nb101: install
	mkdir -p $(RESULTS)/nb101
	$(call SEARCH,nb101) --algo random --runs 500 --out $(RESULTS)/nb101/random.csv
	$(call SEARCH,nb101) --algo naswot --n 100 --runs $(RUNS) --out $(RESULTS)/nb101/naswot-n100.csv
	$(call SEARCH,nb101) --algo rea --runs 500 --budget $(BUDGET) --fitness cifar10/valid@108 --out $(RESULTS)/nb101/rea.csv
	$(call SEARCH,nb101) --algo area --runs $(RUNS) --budget $(BUDGET) --fitness cifar10/valid@108 --out $(RESULTS)/nb101/area.csv
	$(PY) scripts/paper_table.py search $(RESULTS)/table-nb101.csv "Random (NB101)=$(RESULTS)/nb101/random.summary.csv" \
		"NASWOT N=100 (NB101)=$(RESULTS)/nb101/naswot-n100.summary.csv" "REA (NB101)=$(RESULTS)/nb101/rea.summary.csv" \
		"AREA (NB101)=$(RESULTS)/nb101/area.summary.csv"

kendall: install
	mkdir -p $(RESULTS)/kendall
	for d in $(KENDALL_DATASETS); do \
		$(NB) score --space nb201 --dataset $$d $(KENDALL_SELECT) --seed 0 $(DATA_OPT) --quiet --out $(RESULTS)/kendall/nb201-$$d.csv && \
		$(NB) correlate $(RESULTS)/kendall/nb201-$$d.csv --out $(RESULTS)/kendall/nb201-$$d.correlation.csv && \
		cut -d, -f1,3 $(RESULTS)/kendall/nb201-$$d.csv > $(RESULTS)/kendall/nb201-$$d-scores.csv || exit 1; done
	$(MAKE) --no-print-directory paper-kendall

# the zero-cost proxies (their paper: Spearman rho on all of NB201) on ZC_N nets
zerocost: install
	mkdir -p $(RESULTS)/zerocost
	for d in $(KENDALL_DATASETS); do for v in $(ZC_VARIANTS); do \
		stem=$(RESULTS)/zerocost/nb201-$$d$$([ $$v = official ] || echo -$$v) && \
		$(NB) score --space nb201 --dataset $$d --proxy $(ZC_PROXIES) --n $(ZC_N) --seed 0 --network-variant $$v \
			$(DATA_OPT) --quiet --out $$stem.csv && \
		$(NB) correlate $$stem.csv --out $$stem.correlation.csv && \
		cut -d, -f1,3-$(ZC_LAST_COL) $$stem.csv > $$stem-scores.csv || exit 1; done; done
	$(MAKE) --no-print-directory paper-kendall

# jacob_cov with its batch through the training transform, as the zero-cost authors drew it
zerocost-augment: install
	mkdir -p $(RESULTS)/zerocost
	for d in $(KENDALL_DATASETS); do stem=$(RESULTS)/zerocost/nb201-$$d-augment && \
		$(NB) score --space nb201 --dataset $$d --proxy jacob_cov --n $(ZC_N) --seed 0 --augment train \
			$(DATA_OPT) --quiet --out $$stem.csv && \
		$(NB) correlate $$stem.csv --out $$stem.correlation.csv && \
		cut -d, -f1,3 $$stem.csv > $$stem-scores.csv || exit 1; done
	$(MAKE) --no-print-directory paper-kendall

# NASWOT and (where scored) zero-cost correlations beside the published tau / rho
# (`make paper-kendall FULL=1` alone rebuilds the committed kendall.csv from the committed correlations)
KENDALL_CORRELATIONS = $(foreach d,$(KENDALL_DATASETS),$(if $(wildcard $(RESULTS)/kendall/nb201-$(d).correlation.csv),\
	nb201/$(d)=$(RESULTS)/kendall/nb201-$(d).correlation.csv))
paper-kendall: install
	@$(if $(strip $(KENDALL_CORRELATIONS) $(ZC_CORRELATIONS)),true,echo "paper-kendall: no correlation CSV under $(RESULTS)/:\
	run make kendall or make zerocost first (FULL=1 rebuilds results/kendall.csv from the committed ones)" >&2; exit 1)
	$(PY) scripts/paper_table.py kendall $(RESULTS)/kendall.csv $(KENDALL_CORRELATIONS) $(ZC_CORRELATIONS)

# --- few-shot accuracy predictors with the scores as features (results/predict/ with FULL=1) -------
# from the committed score CSVs (NASWOT of all 15,625 NB201 nets; six zero-cost proxies on 1,000):
# encoding alone vs encoding + scores vs scores alone; a few minutes on 2 cores with FULL=1 (the
# committed scale), seconds by default (3 trials, two training sizes, under $(LOCAL)/predict)
PREDICT_TRIALS ?= $(if $(FULL),20,3)
PREDICT_SIZES  ?= $(if $(FULL),10$(comma)20$(comma)50$(comma)100$(comma)200$(comma)500,10$(comma)50)
# the committed score CSVs are the inputs at every scale (a quick `make kendall` never feeds them)
PREDICT_SCORES ?= results
PREDICT_MODEL  ?= gbt
PREDICT        ?= $(NB) predict
PREDICT_RUN     = $(PREDICT) --space nb201 --dataset cifar10 --target cifar10/ori-test@200 --encoding onehot \
	--compare --model $(PREDICT_MODEL) --train-sizes $(PREDICT_SIZES) --trials $(PREDICT_TRIALS) --seed 0 \
	--no-timing --quiet

table-predict: install
	mkdir -p $(RESULTS)/predict
	$(PREDICT_RUN) --scores $(PREDICT_SCORES)/kendall/nb201-cifar10-scores.csv --features naswot \
		--out $(RESULTS)/predict/nb201-cifar10-naswot.csv
	$(PREDICT_RUN) --scores $(PREDICT_SCORES)/zerocost/nb201-cifar10-scores.csv --scores $(PREDICT_SCORES)/kendall/nb201-cifar10-scores.csv \
		--features $(ZC_PROXIES),naswot --test-size 400 --out $(RESULTS)/predict/nb201-cifar10-zc.csv
	$(NB) plot predict $(RESULTS)/predict/nb201-cifar10-naswot.csv $(RESULTS)/predict/nb201-cifar10-zc.csv \
		--out $(RESULTS)/predict/nb201-cifar10.png --quiet
	$(PY) scripts/predict_readme.py $(RESULTS)/predict/README.md \
		"A: NASWOT, all 15,625 nets=$(RESULTS)/predict/nb201-cifar10-naswot.csv" \
		"B: six zero-cost proxies + NASWOT, 1,000 nets=$(RESULTS)/predict/nb201-cifar10-zc.csv"

# every table of record at the paper's scale, then the report page (hours on CPU: see results/README.md)
# --- the proxy leaderboard: every proxy on the same 1,000 NB201 nets (results/proxies/README.md) -----------
# Rebuilt in seconds from the committed scores (a proxy without one is named, not scored); FULL=1
# scores every proxy (hours on 2 cores; scores already in the store are reused, so an interrupted
# FULL run resumes). LB_SUBSET proxies (> ~5 s a network) are scored on the first
# LB_SUBSET_N networks of the sample. PLUGIN=file.py scores your plugin's proxies on the first PLUGIN_N
# networks of the same sample (`score --plugin`) and ranks them among the built-ins in
# $(LB_LOCAL)/yours/ (docs/plugins.md); the committed results/proxies/ is then left as it is.
PLUGIN       ?=
PLUGIN_N     ?= 1000
LB_DIR       ?= results/proxies
LB_PROXIES   ?= params flops l2_norm meco meco_opt plain epe_nas zen az_expressivity az_progressivity \
	az_trainability az_complexity linear_regions linear_regions_net zico swap swap_reg vkdnw gradsign \
	trainable_layers near rbflex wrcor ntk
LB_SUBSET    ?= ntk
LB_SUBSET_N  ?= 200
LB_N         ?= 1000
LB_INPUTS     = $(LB_DIR)/scores/*.csv results/kendall/nb201-cifar10-scores.csv results/zerocost/nb201-cifar10-scores.csv
# the files that exist when the line runs (make's $(wildcard) would miss those the same recipe scored), sorted
lb_files      = $$(for f in $(1); do [ -f "$$f" ] && echo "$$f"; done | LC_ALL=C sort)
LB_LOCAL     := results/local/proxies
LB_COSTLY     = $(filter $(LB_SUBSET),$(LB_PROXIES))
LB_WHOLE      = $(filter-out $(LB_SUBSET),$(LB_PROXIES))
# one `score` run for a set of proxies (each architecture's network built once for all of them),
# then one committed CSV per proxy: $(1) proxies, $(2) networks, $(3) name of the run's CSV
lb_score      = $(if $(1),$(NB) score --space nb201 --dataset cifar10 --proxy $(subst $(space),$(comma),$(strip $(1))) \
	$(2) --seed 0 $(DATA_OPT) --quiet --out $(LB_LOCAL)/$(3).csv && \
	for p in $(1); do $(PY) scripts/proxy_leaderboard.py extract $(LB_LOCAL)/$(3).csv $(LB_DIR)/scores/$$p.csv \
	--columns $$p || exit 1; done,true)
# seed-to-seed spread: these proxies also scored with seeds 0,1,2 on the LB_SUBSET_N networks
LB_SEED_PROXIES ?= naswot grad_norm snip grasp fisher synflow jacob_cov l2_norm meco meco_opt plain epe_nas zen \
	az_nas zico swap swap_reg linear_regions linear_regions_net vkdnw gradsign near rbflex wrcor

table-proxies: install
	mkdir -p $(LB_LOCAL)
	$(PY) scripts/proxy_leaderboard.py sample $(LB_LOCAL)/subset.txt --n $(LB_SUBSET_N)
	$(if $(FULL),$(call lb_score,$(LB_WHOLE),--n $(LB_N),whole) && \
		$(call lb_score,$(LB_COSTLY),--archs $(LB_LOCAL)/subset.txt,subset))
	for p in $(LB_PROXIES); do [ -f $(LB_DIR)/scores/$$p.csv ] || \
		echo "not scored yet: $$p (make table-proxies FULL=1 scores it)"; done
	for p in $(LB_SEED_PROXIES); do \
		if [ -n "$(FULL)" ]; then \
			$(NB) score --space nb201 --dataset cifar10 --proxy $$p --archs $(LB_LOCAL)/subset.txt --seed 0 \
				--seeds 0,1,2 $(DATA_OPT) --quiet --out $(LB_LOCAL)/$$p-seeds.csv && \
			$(PY) scripts/proxy_leaderboard.py extract $(LB_LOCAL)/$$p-seeds.csv $(LB_DIR)/seeds/$$p.csv --seeds || exit 1; \
		fi; done
	$(if $(PLUGIN),$(PY) scripts/proxy_leaderboard.py sample $(LB_LOCAL)/plugin-archs.txt --n $(PLUGIN_N) && \
		$(NB) score --space nb201 --dataset cifar10 --plugin $(PLUGIN) \
		--proxy $$($(NB) proxies --plugin $(PLUGIN) --json | $(PY) scripts/proxy_leaderboard.py plugin-proxies) \
		--archs $(LB_LOCAL)/plugin-archs.txt --seed 0 $(DATA_OPT) --quiet --out $(LB_LOCAL)/plugin-scores.csv && \
		$(PY) scripts/proxy_leaderboard.py extract $(LB_LOCAL)/plugin-scores.csv $(LB_LOCAL)/plugin.csv)
	$(PY) scripts/proxy_leaderboard.py table $(if $(PLUGIN),$(LB_LOCAL)/yours,$(LB_DIR)) $(call lb_files,$(LB_INPUTS)) \
		$(if $(wildcard $(LB_DIR)/timing.csv),--timing $(LB_DIR)/timing.csv) \
		--seeds $(call lb_files,$(LB_DIR)/seeds/*.csv) $(if $(PLUGIN),--extra $(LB_LOCAL)/plugin.csv) \
		$(if $(wildcard $(LB_DIR)/all-networks/structural.csv),--structural $(LB_DIR)/all-networks/structural.csv)

paper: install
	$(MAKE) --no-print-directory kendall table-nb201 zerocost zerocost-augment FULL=1
	$(MAKE) --no-print-directory report

# --- one page of every table of record under results/ with its figures (REPORT_DIR=other/ to choose) --------
REPORT_DIR ?= results
report: install
	$(PY) scripts/restore_score_csvs.py $(REPORT_DIR) $(DATA_OPT)
	$(NB) report $(REPORT_DIR) --out $(REPORT_DIR)/REPORT.md --kernels

clean:
	rm -rf $(VENV) .pytest_cache
