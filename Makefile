# plantrl — every target installs what it needs into the project venv (.venv) first.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: help install run demo mlflow-ui test test-fast lint bench export-examples calibrate tune tune-agent study-bof study-paint report results clean transfer-sources-bof transfer-sources-paint transfer-bof transfer-paint fleet-bof fleet-paint

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first and pinned: a bare `torch` would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install plantrl (editable) with dev tools

run: $(STAMP)  ## main job: PPO corrects the PID on the nominal BOF; compared with operator, PID, MPC; tracked
	$(BIN)/python -m experiments.train

demo: $(STAMP)  ## blow 64 heats of the nominal BOF with the operator practice (no training)
	$(BIN)/python -m experiments.demo_bof

mlflow-ui: $(STAMP)  ## open the local MLflow store at http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/results/mlflow.db \
		--default-artifact-root $(CURDIR)/results/mlartifacts --host 127.0.0.1 --port 5000

test: $(STAMP)  ## the test suite CI runs: every tier but benchmarks (≈ 11 min on 2 cores)
	PYTHONHASHSEED=0 $(BIN)/pytest -m "not benchmark" -n 2

test-fast: $(STAMP)  ## quick loop while developing: skips @pytest.mark.slow end-to-end checks
	PYTHONHASHSEED=0 $(BIN)/pytest -m "not slow and not benchmark" -n 2

lint: $(STAMP)  ## ruff lint + format check, mypy type check
	$(BIN)/ruff check envs agents experiments tests
	$(BIN)/ruff format --check envs agents experiments tests
	$(BIN)/mypy envs agents experiments

bench: $(STAMP)  ## benchmarks -> results/benchmarks/{envs,training,export,sweeps}.md
	$(BIN)/python -m experiments.benchmarks.envs
	$(BIN)/python -m experiments.benchmarks.training
	$(BIN)/python -m experiments.benchmarks.export
	$(BIN)/python -m experiments.benchmarks.sweeps

# the committed example cards: the BOF policy the fleet deployed at its 300 t plant, the paint
# line's newest candidate (policy.onnx itself is git-ignored; the cards are in results/)
export-examples: $(STAMP)  ## results/{bof,paint}/export/model_card.* from the registry (export + checks)
	$(BIN)/python -m experiments.export policy=models:/plantrl-bof@champion-bof_300t_high_scrap \
		plant=bof_300t_high_scrap out=results/bof/export overwrite=true
	$(BIN)/python -m experiments.export env=paint policy=models:/plantrl-paint@candidate \
		out=results/paint/export overwrite=true

calibrate: $(STAMP)  ## refit the BOF operator's static model on the nominal plant
	$(BIN)/python -m experiments.calibration.bof

tune: $(STAMP)  ## re-tune both PID baselines (gains + operating point) into conf/baselines
	$(BIN)/python -m experiments.tuning.pid --process bof
	$(BIN)/python -m experiments.tuning.pid --process paint

# Optuna search of an agent's hyper-parameters: resumes the study in results/tune/ and writes
# conf/hparams/$(TUNE_ENV)_$(TUNE_AGENT)_tuned.yaml (README "Tuning hyper-parameters").
TUNE_ENV ?= bof
TUNE_AGENT ?= ppo
N_TRIALS ?= 20
tune-agent: $(STAMP)  ## Optuna search of an agent's hyper-parameters (TUNE_ENV=bof TUNE_AGENT=ppo N_TRIALS=20)
	$(BIN)/python -m experiments.tune env=$(TUNE_ENV) agent=$(TUNE_AGENT) n_trials=$(N_TRIALS)

# The evaluation study: PPO and SAC x 3 seeds (plain), the residual PPO on the PID trained on the
# nominal plant (experiment=study_residual) and on the mixture profile (experiment=study_mixture,
# issue 13's one policy for every condition) x 5 seeds each, every policy evaluated on every
# scenario set, the four baselines (operator, PID, MPC on estimates, MPC oracle) on the same sets,
# then the report. Long, on 2 cores shared with other jobs: BOF ≈ 4 h (a 3M-step residual run
# ≈ 20 min, a 2M-step mixture run ≈ 25 min, baselines ≈ 25 min); paint ≈ 3 h (a 2M-step residual
# run ≈ 10 min; its oracle and MPC on estimates cost ≈ 7 s CPU per shift each, ≈ 80 min).
study-%: $(STAMP)  ## study-bof / study-paint: train + evaluate agents and baselines, write the report
	$(BIN)/python -m experiments.train -m experiment=study env=$* agent=ppo seed=0,1,2 agent.algo.n_steps=256 agent.algo.batch_size=512
	$(BIN)/python -m experiments.train -m experiment=study_sac env=$* agent=sac seed=0,1,2
	$(BIN)/python -m experiments.train -m experiment=study_residual env=$* seed=0,1,2,3,4
	$(BIN)/python -m experiments.train -m experiment=study_mixture env=$* seed=0,1,2,3,4
	for b in operator pid mpc_est mpc; do $(BIN)/python -m experiments.evaluate env=$* policy=baseline:$$b; done
	$(BIN)/python -m experiments.report env=$*

# Issue 15's transfer study: the source policies (the residual PPO on the PID, 1M steps, on the
# nominal plant and with domain randomisation over its ranges; 5 seeds on the BOF, 3 on the paint
# line), then experiments.transfer: the zero-shot matrix on every split and the fine-tuning stage
# (3 seeds × warm start / scratch / scratch at 5× the budget at one ood plant). On 2 shared cores:
# BOF ≈ 1 h (a source ≈ 3 min, the oracle on one plant ≈ 5 min); paint ≈ 2.5 h (a source ≈ 10 min,
# the two MPCs ≈ 7 s CPU per shift each).
TRANSFER_SEEDS_bof   ?= 0,1,2,3,4
TRANSFER_SEEDS_paint ?= 0,1,2
transfer-sources-%: $(STAMP)  ## transfer-sources-bof / -paint: train the transfer study's source policies
	$(BIN)/python -m experiments.train -m experiment=transfer_source env=$* seed=$(TRANSFER_SEEDS_$*)
	$(BIN)/python -m experiments.train -m experiment=transfer_source env=$* seed=$(TRANSFER_SEEDS_$*) env.kwargs.randomize=true run_tags.source=randomised

# the committed BOF table: the ood plants bof_120t and bof_worn_lance, 32 nominal heats + 8 drift
# campaigns (single-env evaluation of 10 policies on every plant is the cost); all targets: drop them
TRANSFER_ARGS_bof   ?= 'targets=[train,held_out,bof_120t,bof_worn_lance]' 'episodes={nominal: 32, drift: 8}'
TRANSFER_ARGS_paint ?=
transfer-%: $(STAMP)  ## transfer-bof / transfer-paint: results/<env>/transfer.md + transfer.png (after transfer-sources-%)
	$(BIN)/python -m experiments.transfer env=$* $(TRANSFER_ARGS_$*)

# Issue 15's fleet: a candidate (the transfer recipe trained with domain randomisation, seed 100)
# is registered (alias candidate), put through the promotion gate (champion if it passes), then
# offered to every sister plant (each decides with the same gate on its own plant: zero-shot,
# then after a fine-tune there: 100k steps on the BOF, 30k on the slower paint line); writes
# results/<env>/fleet.md. Run it alone: another
# job registering a version in between would move the alias `candidate` first.
FLEET_BUDGET_bof   ?= 100000
FLEET_BUDGET_paint ?= 30000
fleet-%: $(STAMP)  ## fleet-bof / fleet-paint: train a candidate, gate it, offer it to the fleet
	$(BIN)/python -m experiments.train experiment=transfer_source env=$* seed=100 env.kwargs.randomize=true run_tags.source=fleet
	$(BIN)/python -m experiments.promote env=$*
	$(BIN)/python -m experiments.promote env=$* --propose candidate fleet.fine_tune_budget=$(FLEET_BUDGET_$*)

report: $(STAMP)  ## results/{bof,paint}/report.md from the MLflow store
	$(BIN)/python -m experiments.report env=bof
	$(BIN)/python -m experiments.report env=paint

# Every committed result, in dependency order: the operator's model and the baselines first, then
# what is measured with them. After a change to a plant (a new env id) this is the whole list.
results: calibrate tune bench study-bof study-paint transfer-sources-bof transfer-bof fleet-bof transfer-sources-paint transfer-paint fleet-paint export-examples  ## regenerate every file in results/ (several hours on 2 cores)
	for p in bof paint; do \
		$(BIN)/python -m experiments.studies.exploration_noise --process $$p; \
		$(BIN)/python -m experiments.studies.mpc_convergence --process $$p; \
		$(BIN)/python -m experiments.studies.mpc_convergence --process $$p --baseline mpc_est; \
	done
	$(BIN)/python -m experiments.studies.audit_bof
	$(BIN)/python -m experiments.studies.audit_paint
	$(BIN)/python -m experiments.studies.main_job

clean:  ## remove the venv and caches (keeps results/)
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
