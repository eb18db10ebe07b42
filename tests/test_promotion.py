"""The promotion gate, its registry protocol, rollback and fleet proposals (experiments.promote).

Fast tests decide with fake score providers (returns = the PID's per-episode returns + an
offset per policy and plant + small noise, fixed seeds) on registered versions that are cheap
external models in a temporary SQLite store; the rules themselves are checked on plain arrays.
One slow test runs the real CLI on a tiny trained policy with real evaluations.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from envs.core.params import PlantVariant
from experiments.lib.config_checks import ConfigError
from experiments.lib.gate import CellScores, GateSettings, judge
from experiments.lib.plants import custom_plant_node, job_plant
from experiments.lib.promotion import PID, Cell, Scope, _with_section, decide, safe_name
from experiments.lib.registry import register_candidate
from experiments.lib.scores import evaluation_key
from experiments.lib.splits import variant
from experiments.lib.tracking import setup_tracking
from experiments.promote import command_line, run

pytestmark = pytest.mark.usefixtures("isolated_mlflow")  # tests/conftest.py

REPO = Path(__file__).resolve().parents[1]
MODEL = "plantrl-bof"
EPISODES = 16
FAST = GateSettings(reps=200)
Quality = Mapping[Any, float]  # spec or (spec, plant name) -> return offset over the PID
REFERENCES = {PID: 0.0, "baseline:mpc": 3.0, "baseline:mpc_est": 2.0}


# --- fakes and helpers ----------------------------------------------------------------------
def _seed(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


class FakeScorer:
    """Returns on the set's seeds: the PID's + the policy's offset at that plant (+ noise);
    remembers what it was asked for (spec, plant, set)."""

    def __init__(self, quality: Quality, on_first_call: Callable[[], None] | None = None):
        self.quality, self.on_first_call = quality, on_first_call
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, spec: str, plant: PlantVariant, sset: str, episodes: int | None) -> Any:
        if self.on_first_call is not None and not self.calls:
            self.on_first_call()
        self.calls.append((spec, plant.name, sset))
        n = episodes or EPISODES
        pid = np.random.default_rng(_seed(plant.name, sset)).normal(-10.0, 1.0, n)
        if spec in REFERENCES:
            return pid + REFERENCES[spec]
        offset = self.quality.get((spec, plant.name), self.quality.get(spec))
        assert offset is not None, f"the test gives no score for {spec} at {plant.name}"
        noise = np.random.default_rng(_seed(spec, plant.name, sset)).normal(0, 0.1, n)
        return pid + offset + noise


def spec(version: int) -> str:
    return f"models:/{MODEL}/{version}"


def register(root: Path, tags: Mapping[str, str] = {}, model: str = MODEL) -> int:
    """A new version of ``model`` (alias ``candidate`` on it, as training registers): an
    external model (a file) logged by a run of its own; the fakes score it, nothing loads it."""
    experiment_id = setup_tracking(tracking(root))
    (root / "policy.txt").write_text("weights")
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_artifact(str(root / "policy.txt"), "policy")
        uri = mlflow.create_external_model(name="policy").model_uri
    version, _ = register_candidate(uri, model, {"plant": "bof_250t", **tags}, {})
    return version


def tracking(root: Path) -> dict[str, str]:
    return {
        "uri": f"sqlite:///{root}/mlflow.db",
        "artifact_location": str(root / "mlartifacts"),
        "experiment": "bof-promotion",
    }


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store at MLflow's head schema, made once: copying it saves a migration per test."""
    root = tmp_path_factory.mktemp("template")
    setup_tracking({**tracking(root), "experiment": "template"})
    return root / "mlflow.db"


@pytest.fixture
def root(tmp_path: Path, migrated_db: Path) -> Path:
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    setup_tracking(tracking(tmp_path))
    return tmp_path


GATE = (
    "splits.gate.plants=[bof_250t,bof_120t]",
    "splits.gate.scenario_sets=[nominal,drift]",
    f"splits.gate.episodes={{nominal:{EPISODES},drift:{EPISODES}}}",
    "gate.reps=200",
)


def job(root: Path, *overrides: str) -> dict[str, Any]:
    """The promote job's config as ``python -m experiments.promote <overrides>`` composes it."""
    store = [f"tracking.{k}={v}" for k, v in tracking(root).items() if k != "experiment"]
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("promote", overrides=[*store, f"paths.root={root}", *GATE, *overrides])
    return dict(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]


def registry_state() -> list[Any]:
    """Every alias, model tag, version tag and description in the store."""
    client = MlflowClient()
    state = []
    for rm in client.search_registered_models():
        versions = client.search_model_versions(f"name='{rm.name}'")
        state.append(
            (
                rm.name,
                rm.aliases,
                rm.tags,
                sorted((v.version, v.tags, v.description) for v in versions),
            )
        )
    return state


def aliases(model: str = MODEL) -> dict[str, int]:
    return {k: int(v) for k, v in MlflowClient().get_registered_model(model).aliases.items()}


def version_tags(version: int) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(MODEL, str(version)).tags)


# --- the rules, on plain arrays -------------------------------------------------------------
def _cells(candidate: float, incumbent: float, spread: float = 0.1) -> list[CellScores]:
    rng = np.random.default_rng(0)
    pid = rng.normal(-10, 1, EPISODES)
    noise = rng.normal(0, spread, (2, EPISODES))
    return [
        CellScores(
            "bof_250t", "nominal", pid + candidate + noise[0], pid + incumbent + noise[1], pid
        )
    ]


def test_gate_passes_a_candidate_better_than_incumbent_and_pid() -> None:
    verdict = judge(_cells(2.0, 1.0), spec(1), FAST)
    assert verdict.passed and verdict.reasons == []
    row = verdict.rows[0]
    assert row.delta_incumbent[1] > 0 and row.delta_pid == pytest.approx(2.0, abs=0.1)
    assert verdict.p_improvement == 1.0


def test_gate_rejects_worse_than_incumbent_with_the_cell_and_numbers() -> None:
    verdict = judge(_cells(1.0, 2.0), spec(1), FAST)
    assert not verdict.passed
    worse = [r for r in verdict.reasons if "worse than the incumbent" in r]
    assert len(worse) == 1 and worse[0].startswith("bof_250t/nominal:") and "95 % CI" in worse[0]
    assert any("P(candidate" in r and "0.6" in r for r in verdict.reasons)


def test_gate_needs_confidence_not_just_a_higher_mean() -> None:
    # a tie with the incumbent in distribution: its CI straddles 0, P(improvement) ≈ ½
    verdict = judge(_cells(1.0, 1.0, spread=1.0), spec(1), FAST)
    assert not any("worse than" in r for r in verdict.reasons)
    assert any("min_probability_of_improvement" in r for r in verdict.reasons)


def test_gate_rejects_a_candidate_no_better_than_the_pid() -> None:
    verdict = judge(_cells(-0.5, -1.0), spec(1), FAST)
    assert [r for r in verdict.reasons if "not better than the PID" in r]


def test_gate_settings_are_checked_with_their_key() -> None:
    with pytest.raises(ConfigError, match=r"gate.min_probability_of_improvement = 1.5"):
        GateSettings.from_config({"min_probability_of_improvement": 1.5})
    with pytest.raises(ConfigError, match=r"unknown keys \['min_p'\]"):
        GateSettings.from_config({"min_p": 0.6})


def test_a_new_decision_replaces_its_own_section_of_the_description() -> None:
    first = _with_section(None, "Gate", "rejected")
    both = _with_section(first, "Fleet: bof_120t", "promoted")
    again = _with_section(both, "Gate", "promoted")
    assert again.count("## Gate") == 1 and "rejected" not in again
    assert again.index("## Fleet: bof_120t") < again.index("## Gate")


def test_plant_names_become_valid_aliases_and_tag_keys(root: Path) -> None:
    scope = Scope("bof_250t+overrides")
    assert scope.alias == "champion-bof_250t-overrides"
    assert scope.prefix == "fleet/bof_250t-overrides/" and safe_name("a.b c") == "a-b-c"
    version = register(root)
    client = MlflowClient()
    client.set_registered_model_alias(MODEL, scope.alias, str(version))  # MLflow accepts both
    client.set_model_version_tag(MODEL, str(version), scope.prefix + "verdict", "promoted")


# --- the registry, end to end ---------------------------------------------------------------
def test_promote_reject_and_roll_back(root: Path) -> None:
    v1, v2, v3 = register(root), register(root), register(root)
    scorer = FakeScorer({spec(v1): 1.0, spec(v2): 2.0, spec(v3): 0.5, spec(4): 3.0})

    first = run(job(root, f"candidate={spec(v1)}"), None, scorer)
    assert first.promoted and first.incumbent_version is None
    assert aliases() == {"champion": v1, "candidate": v3}
    assert version_tags(v1)["gate/incumbent"] == PID

    second = run(job(root, "candidate=models:/plantrl-bof@candidate"), None, scorer)  # v3
    assert not second.promoted and aliases()["champion"] == v1  # 0.5 < 1.0: rejected
    tags = version_tags(v3)
    assert tags["gate/verdict"] == "rejected" and tags["gate/incumbent"] == spec(v1)
    assert "bof_120t/drift: worse than the incumbent" in tags["gate/reasons"]
    assert float(tags["gate/bof_120t/drift/delta_incumbent"]) == pytest.approx(-0.5, abs=0.1)
    assert "| bof_120t | drift |" in str(
        MlflowClient().get_model_version(MODEL, str(v3)).description
    )

    scorer.calls.clear()
    third = run(job(root, f"candidate={spec(v2)}"), None, scorer)
    cells = {(p, s) for p in ("bof_250t", "bof_120t") for s in ("nominal", "drift")}
    assert {(p, s) for sp, p, s in scorer.calls if sp == spec(v1)} == cells  # the incumbent's
    assert third.promoted and aliases()["champion"] == v2 and aliases()["previous-champion"] == v1
    v4 = register(root)
    assert run(job(root), None, scorer).promoted  # @candidate: v4
    history = json.loads(MlflowClient().get_registered_model(MODEL).tags["champion_history"])
    assert [int(h["version"]) for h in history] == [v1, v2, v4]

    # rollback restores the previous champion, and again the one before
    assert run(job(root, "mode=rollback"), None, scorer) == (v4, v2)
    assert aliases()["champion"] == v2 and aliases()["previous-champion"] == v1
    rolled = run(job(root, "mode=rollback", "reason=bad heats at bof_120t"), None, scorer)
    assert rolled == (v2, v1) and aliases()["champion"] == v1
    assert "previous-champion" not in aliases()  # v1 was the first champion
    assert version_tags(v2)["gate/rolled_back_reason"] == "bad heats at bof_120t"

    before = registry_state()
    with pytest.raises(ConfigError, match="no previous champion to roll back to"):
        run(job(root, "mode=rollback"), None, scorer)
    assert registry_state() == before


def test_a_command_line_plant_joins_the_gate(root: Path) -> None:
    v1 = register(root)
    node = custom_plant_node("bof")
    node["name"] = "bof_180t+trial"  # '+' is not allowed in aliases and tag keys
    node["params"].update(heat_size_t=180.0, hot_metal_t=169.2, scrap_t=28.8)
    custom = job_plant(node, "bof", "bof_custom")
    renamed = variant("bof", "bof_120t").renamed("my_120t")  # a gate plant by its hash
    for extra in (custom, renamed):
        decision = run(job(root, f"candidate={spec(v1)}"), extra, FakeScorer({spec(v1): 1.0}))
        MlflowClient().delete_registered_model_alias(MODEL, "champion")
    assert {r.plant for r in decision.verdict.rows} == {"bof_250t", "bof_120t"}
    assert "gate/bof_180t-trial/nominal/delta_pid" in version_tags(v1)


def _race(version: int, root: Path, barrier: Any, queue: Any) -> None:
    try:
        mlflow.set_tracking_uri(tracking(root)["uri"])
        cells = [Cell(variant("bof", "bof_250t"), "nominal", EPISODES)]

        def meet_then_dawdle() -> None:  # both have read the incumbent: none yet
            barrier.wait(timeout=60)
            time.sleep(0.5)

        scorer = FakeScorer({spec(2): 1.0, spec(3): 2.0}, meet_then_dawdle)
        d = decide(MODEL, version, Scope(), cells, scorer, FAST)
        queue.put((version, d.promoted, d.judgements, d.verdict.incumbent))
    except Exception as err:  # the parent reports what killed a worker
        queue.put((version, f"{type(err).__name__}: {err}", 0, ""))


def test_racing_promotions_leave_one_champion_judged_in_turn(root: Path) -> None:
    register(root)  # v1: never offered
    v2, v3 = register(root), register(root)
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(v, root, barrier, queue)) for v in (v2, v3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    outcomes = {o[0]: o for o in (queue.get(timeout=5) for _ in procs)}
    history = json.loads(MlflowClient().get_registered_model(MODEL).tags["champion_history"])
    first = int(history[0]["version"])
    second = v3 if first == v2 else v2
    assert outcomes[first][1:] == (True, 1, PID)
    # the second was judged again, against the first's winner
    assert outcomes[second][2] == 2 and outcomes[second][3] == spec(first)
    assert version_tags(second)["gate/incumbent"] == spec(first)
    assert aliases()["champion"] == v3  # the better one, whichever order they finished in
    assert [int(h["version"]) for h in history] == ([v2, v3] if first == v2 else [v3])


@dataclasses.dataclass(frozen=True)
class FakeFineTune:
    version: int


def test_fleet_proposal_moves_exactly_the_aliases_of_plants_that_passed(root: Path) -> None:
    offered = register(root)
    fine_tunes: list[tuple[str, str, int, int]] = []

    def fine_tune(source: str, plant: PlantVariant, budget: int, seed: int) -> FakeFineTune:
        fine_tunes.append((source, plant.name, budget, seed))
        lineage = {
            "lineage/parent_version": source.rsplit("/", 1)[1],
            "lineage/parent_run": "0" * 32,
            "lineage/plant": plant.name,
            "lineage/plant_hash": plant.plant_hash(),
            "lineage/budget": str(budget),
        }
        return FakeFineTune(register(root, {"plant": plant.name, **lineage}))

    quality = {
        (spec(offered), "bof_250t"): 1.0,  # adopts zero-shot
        (spec(offered), "bof_120t"): -0.5,  # declines zero-shot ...
        (spec(offered), "bof_high_p"): -0.5,
        (spec(2), "bof_120t"): 1.0,  # ... adopts its fine-tuned child
        (spec(3), "bof_high_p"): -0.3,  # declines both
    }
    fleet = ("splits.fleet=[bof_250t,bof_120t,bof_high_p]", "fleet.fine_tune_budget=5000")
    c = job(root, "mode=propose", f"propose={offered}", *fleet)
    outcomes = run(c, None, FakeScorer(quality), fine_tune, ["mode=propose", fleet[0]])

    assert [(o.plant, o.adopted) for o in outcomes] == [
        ("bof_250t", offered),
        ("bof_120t", 2),
        ("bof_high_p", None),
    ]
    assert fine_tunes == [
        (spec(offered), "bof_120t", 5000, 0),
        (spec(offered), "bof_high_p", 5000, 0),
    ]
    assert aliases() == {"candidate": 3, "champion-bof_250t": offered, "champion-bof_120t": 2}
    assert version_tags(2)["lineage/parent_version"] == str(offered)
    assert version_tags(2)["fleet/bof_120t/verdict"] == "promoted"
    assert version_tags(3)["fleet/bof_high_p/verdict"] == "rejected"
    assert outcomes[2].headline == "declined (zero-shot and fine-tuned 3)"
    assert any(r.startswith("v3: bof_high_p/nominal: worse than") for r in outcomes[2].reasons)

    runs = mlflow.search_runs(
        experiment_names=["bof-promotion"], filter_string="tags.mode = 'propose'"
    )
    children = mlflow.search_runs(
        experiment_names=["bof-promotion"],
        filter_string=f"tags.mlflow.parentRunId = '{runs['run_id'].iloc[0]}'",
    )
    assert sorted(children["tags.plant"]) == ["bof_120t", "bof_250t", "bof_high_p"]
    declined = children[children["tags.plant"] == "bof_high_p"].iloc[0]
    assert declined["tags.zero_shot/verdict"] == declined["tags.fine_tuned/verdict"] == "rejected"
    assert declined["metrics.fine_tuned/bof_high_p/nominal/delta_pid"] == pytest.approx(
        -0.3, abs=0.1
    )

    table = (root / "results" / "bof" / "fleet.md").read_text()
    regenerate = (
        "python -m experiments.promote report env=bof 'splits.fleet=[bof_250t,bof_120t,bof_high_p]'"
    )
    assert table.splitlines()[2] == f"Regenerate: `{regenerate}`"
    assert "| bof_high_p | ood | PID (no learned policy adopted) |" in table
    assert "declined v3 (" in table and "all reasons: tag fleet/bof_high_p/reasons)" in table
    lineage = f"from v{offered}, fine-tuned at bof_120t (5000 steps)"
    assert f"| bof_120t | ood | v2 (champion-bof_120t) | {lineage} |" in table
    assert "| bof_250t | train | v1 (champion-bof_250t) | trained at bof_250t | nominal |" in table

    # a plant's incumbent is its own champion: a better version replaces the child at bof_120t
    better = register(root)
    again = job(root, "mode=propose", f"propose={better}", "splits.fleet=[bof_120t]")
    quality = {**quality, (spec(better), "bof_120t"): 2.0}
    [outcome] = run(again, None, FakeScorer(quality), fine_tune)
    assert outcome.adopted == better and outcome.zero_shot is not None
    assert version_tags(better)["fleet/bof_120t/incumbent"] == spec(2)
    assert aliases()["champion-bof_120t"] == better
    assert aliases()["previous-champion-bof_120t"] == 2
    [outcome] = run(again, None, FakeScorer(quality), fine_tune)
    assert outcome.headline == f"already deployed version {better}"

    # rollback plant=bof_120t: that plant's champion only
    bof_120t = variant("bof", "bof_120t")
    assert run(job(root, "mode=rollback"), bof_120t, FakeScorer({})) == (better, 2)
    assert aliases()["champion-bof_120t"] == 2 and aliases()["champion-bof_250t"] == offered
    assert "fleet/bof_120t/rolled_back_at" in version_tags(better)


# --- bad input: one clear line, registry unchanged ------------------------------------------
def test_rollback_refuses_a_champion_moved_by_hand(root: Path) -> None:
    v1, v2 = register(root), register(root)
    scorer = FakeScorer({spec(v1): 1.0, spec(v2): 2.0})
    for version in (v1, v2):
        run(job(root, f"candidate={spec(version)}"), None, scorer)
    MlflowClient().set_registered_model_alias(MODEL, "champion", str(v1))
    before = registry_state()
    with pytest.raises(ConfigError, match="champion is version 1, but the last champion"):
        run(job(root, "mode=rollback"), None, scorer)
    assert registry_state() == before


def test_command_line_words_and_unknown_plants() -> None:
    assert command_line(["rollback", "plant=bof_120t"]) == ["mode=rollback", "plant=bof_120t"]
    assert command_line(["--propose", "7", "env=bof"]) == ["mode=propose", "propose=7", "env=bof"]
    with pytest.raises(ConfigError, match="unknown bof plant 'bof_999t'"):
        command_line(["plant=bof_999t"])
    with pytest.raises(ConfigError, match="is a paint plant: use env=paint"):
        command_line(["rollback", f"plant={_a_paint_plant()}"])
    assert command_line(["--propose", "champion"]) == ["mode=propose", "propose=champion"]
    with pytest.raises(ConfigError, match="--propose needs the version"):
        command_line(["--propose"])
    with pytest.raises(ConfigError, match="--propose needs the version"):
        command_line(["--propose", "env=bof"])


def _a_paint_plant() -> str:
    import envs

    return next(iter(envs.process("paint").plants))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("candidate=models:/plantrl-paint/1",), "is not a bof policy: use env=paint"),
        (("candidate=models:/plantrl-bof/9",), "plantrl-bof has no version 9"),
        (("candidate=models:/plantrl-bof@nobody",), "has no alias 'nobody'"),
        (("mode=propose", "propose=9"), "plantrl-bof has no version 9"),
        (("mode=propose",), r"propose = None: an integer ≥ 1"),
        (("mode=propose", "propose=nobody"), "has no alias 'nobody'"),
        (("mode=propose", "propose=1", "fleet.fine_tune_budget=abc"), "fleet.fine_tune_budget"),
        (("mode=rollback",), "no previous champion to roll back to for the gate set"),
        (("mode=rollback", "gate.reps=5"), "gate.reps = 5"),
    ],
)
def test_bad_input_is_one_clear_error_and_changes_nothing(
    root: Path, overrides: tuple[str, ...], message: str
) -> None:
    v1 = register(root)
    register(root, model="plantrl-paint")
    run(job(root, f"candidate={spec(v1)}"), None, FakeScorer({spec(v1): 1.0}))  # a champion
    before = registry_state()
    with pytest.raises(ConfigError, match=message):
        run(job(root, *overrides), None, FakeScorer({}), lambda *a: pytest.fail("fine-tuned"))
    assert registry_state() == before


def test_the_cli_prints_bad_input_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "experiments.promote", "rollback", "plant=bof_999t"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown bof plant 'bof_999t'")
    assert not (tmp_path / "mlflow.db").exists()


# --- the real thing, once -------------------------------------------------------------------
def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    store = [f"tracking.uri=sqlite:///{root}/mlflow.db", f"tracking.artifact_location={root}/art"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONHASHSEED"] = "0"
    return subprocess.run(
        [sys.executable, "-m", *args, *store, f"paths.results={root}/results"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_cli_gates_a_trained_policy_on_real_evaluations(tmp_path: Path) -> None:
    tiny = ["experiment=debug", "train.total_timesteps=256", "train.n_envs=2",
            "agent.algo.n_steps=64", "agent.algo.batch_size=64", "agent.algo.n_epochs=1",
            "eval.every_steps=256", "eval.n_episodes=2", "eval.final_episodes=2",
            "register_model=true", "tracking.experiment=bof"]  # fmt: skip
    trained = _cli(tmp_path, "experiments.train", *tiny)
    assert trained.returncode == 0, trained.stderr[-2000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = MlflowClient()
    source = client.get_model_version(MODEL, "1")
    client.create_model_version(MODEL, str(source.source), run_id=source.run_id)  # v2, same policy
    for key, value in source.tags.items():
        client.set_model_version_tag(MODEL, "2", key, value)
    client.set_registered_model_alias(MODEL, "champion", "1")  # a champion never evaluated

    gate = ["splits.gate.plants=[bof_250t]", "splits.gate.scenario_sets=[nominal]",
            "splits.gate.episodes={nominal:2}", "gate.reps=200"]  # fmt: skip
    done = _cli(tmp_path, "experiments.promote", f"candidate={spec(2)}", *gate)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{MODEL} version 2:" in done.stdout
    tags = version_tags(2)
    assert tags["gate/incumbent"] == spec(1) and tags["gate/verdict"] in ("promoted", "rejected")
    # the champion was evaluated on the gate cell first, not skipped
    evaluated = mlflow.search_runs(
        experiment_names=["bof-evaluation"],
        filter_string=f"tags.eval_key = '{evaluation_key(spec(1))}' and tags.plant = 'bof_250t'",
    )
    assert len(evaluated) == 1 and evaluated["tags.scenario_set"].iloc[0] == "nominal"
    assert len(mlflow.search_runs(experiment_names=["bof-promotion"])) == 1
