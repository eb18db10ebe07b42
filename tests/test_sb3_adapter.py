"""SB3 VecEnv adapter over the native BOF vector env: contract, seeding, infos, and PPO learns."""

from __future__ import annotations

import csv
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

import envs
from agents.policy import Policy, RandomPolicy, SB3Policy
from agents.vecenv import NativeVecEnvAdapter, make_sb3_vec_env
from envs.steel import layout

N_ENVS = 8
N_ACT = len(layout.ACTUATORS)
EVAL_SEEDS = list(range(1000, 1008))


def random_actions(rng: np.random.Generator, n: int = N_ENVS) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, (n, N_ACT)).astype(np.float32)


def run_until_done(venv: VecEnv, rng: np.random.Generator, max_steps: int = 500):
    """Step with random actions until some env ends; returns (obs, rewards, dones, infos, log)."""
    rewards_log = []
    for _ in range(max_steps):
        obs, rewards, dones, infos = venv.step(random_actions(rng, venv.num_envs))
        rewards_log.append(rewards)
        if dones.any():
            return obs, rewards, dones, infos, np.array(rewards_log)
    raise AssertionError(f"no episode ended in {max_steps} steps")


def episode_returns(policy: Policy, seeds: list[int], **env_kwargs) -> np.ndarray:
    """Return of one episode per seed on plantrl/BOF-v2, all seeds stepped in lockstep.

    Each episode is fixed by its seed (``reset(seed=…)`` determines the whole episode), so every
    policy sees the same scenarios; the policy acts on the batch of still-running episodes.
    """
    envs_ = [gym.make("plantrl/BOF-v2", **env_kwargs) for _ in seeds]
    obs = np.stack([e.reset(seed=s)[0] for e, s in zip(envs_, seeds, strict=True)])
    returns = np.zeros(len(seeds))
    active = np.ones(len(seeds), dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        actions = policy.act(obs[idx])
        for k, i in enumerate(idx):
            obs[i], reward, terminated, truncated, _ = envs_[i].step(actions[k])
            returns[i] += reward
            active[i] = not (terminated or truncated)
    return returns


# --- VecEnv contract --------------------------------------------------------------------------
def test_reset_shapes_and_spaces():
    venv = make_sb3_vec_env("bof", n_envs=N_ENVS, seed=0)
    assert isinstance(venv, VecEnv)
    assert venv.num_envs == N_ENVS
    assert venv.observation_space.shape == (26,)
    assert venv.action_space.shape == (N_ACT,)
    obs = venv.reset()
    assert obs.shape == (N_ENVS, 26) and obs.dtype == np.float32
    assert all(venv.observation_space.contains(o) for o in obs)
    assert venv.reset_infos == [{}] * N_ENVS
    venv.close()


def test_step_returns_sb3_format():
    venv = make_sb3_vec_env("bof", n_envs=N_ENVS, seed=0)
    venv.reset()
    obs, rewards, dones, infos = venv.step(np.zeros((N_ENVS, N_ACT), dtype=np.float32))
    assert obs.shape == (N_ENVS, 26) and obs.dtype == np.float32
    assert rewards.shape == (N_ENVS,) and rewards.dtype == np.float32
    assert dones.shape == (N_ENVS,) and dones.dtype == np.bool_
    assert isinstance(infos, list) and len(infos) == N_ENVS
    assert all(isinstance(i, dict) for i in infos)
    assert not dones.any() and infos == [{}] * N_ENVS  # nothing ends in the first step


def test_done_env_info_has_terminal_observation_episode_and_kpis():
    venv = make_sb3_vec_env("bof", n_envs=N_ENVS, seed=3, action_mode="absolute")
    venv.reset()
    obs, _, dones, infos, log = run_until_done(venv, np.random.default_rng(0))
    for i in np.flatnonzero(dones):
        info = infos[i]
        term = info["terminal_observation"]
        assert term.shape == (26,) and term.dtype == np.float32
        assert venv.observation_space.contains(term)
        assert term[0] > 0.0 and obs[i][0] == 0.0  # blow time: ended heat vs fresh heat
        assert info["TimeLimit.truncated"] is False
        ep = info["episode"]
        assert ep["l"] == len(log)  # every env started together, this is its first episode
        assert ep["r"] == pytest.approx(float(log[:, i].astype(np.float64).sum()), rel=1e-5)
        assert ep["t"] >= 0.0
        assert set(layout.UNIT_KPI.names) < set(
            info["unit_kpi"]
        )  # plus hit flags at the named bands
        assert {"hit_c_0.02", "hit_t_15", "double_hit_0.02_15"} < set(info["unit_kpi"])
        assert all(isinstance(v, float) for v in info["unit_kpi"].values())
    for i in np.flatnonzero(~dones):
        assert infos[i] == {}


def test_episode_counters_restart_after_done():
    venv = make_sb3_vec_env("bof", n_envs=2, seed=5, action_mode="absolute")
    venv.reset()
    rng = np.random.default_rng(1)
    total_len, episodes = np.zeros(2, dtype=int), np.zeros(2, dtype=int)
    for step in range(1, 1000):
        _, _, dones, infos = venv.step(random_actions(rng, 2))
        for i in np.flatnonzero(dones):
            total_len[i] += infos[i]["episode"]["l"]
            episodes[i] += 1
            assert total_len[i] == step  # lengths restart at every episode end
        if episodes.min() >= 3:
            break
    assert episodes.min() >= 3


def test_campaign_heat_end_reports_kpis_without_done():
    venv = make_sb3_vec_env("bof", n_envs=2, seed=0, campaign_heats=2)
    venv.reset()
    zeros = np.zeros((2, N_ACT), dtype=np.float32)
    for _ in range(400):
        _, _, dones, infos = venv.step(zeros)
        if any("unit_kpi" in i for i in infos):
            break
    assert not dones.any()  # first heat of two ended: KPIs, but the episode goes on
    ended = [i for i in infos if "unit_kpi" in i]
    assert ended and all("terminal_observation" not in i and "episode" not in i for i in ended)
    assert all(i["unit_end"] is True for i in ended)


def test_seeded_reset_is_deterministic():
    def first_steps(seed: int) -> tuple[np.ndarray, np.ndarray]:
        venv = make_sb3_vec_env("bof", n_envs=4, seed=None, action_mode="absolute")
        assert venv.seed(seed) == [seed, seed + 1, seed + 2, seed + 3]  # SB3's convention
        rng = np.random.default_rng(7)
        obs, rews = [venv.reset()], []
        for _ in range(50):
            o, r, _, _ = venv.step(random_actions(rng, 4))
            obs.append(o)
            rews.append(r)
        return np.array(obs), np.array(rews)

    obs_a, rew_a = first_steps(11)
    obs_b, rew_b = first_steps(11)
    obs_c, _ = first_steps(12)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    assert not np.array_equal(obs_a, obs_c)


def test_seed_applies_to_next_reset_only():
    venv = make_sb3_vec_env("bof", n_envs=2, seed=4)
    first = venv.reset()
    assert not np.array_equal(venv.reset(), first)  # unseeded reset continues the generator
    venv.seed(4)
    np.testing.assert_array_equal(venv.reset(), first)


def test_adapter_passes_native_env_data_through():
    raw = envs.make_vec("bof", num_envs=4, autoreset_mode="same_step", action_mode="absolute")
    venv = make_sb3_vec_env("bof", n_envs=4, seed=21, action_mode="absolute")
    np.testing.assert_array_equal(venv.reset(), raw.reset(seed=21)[0])
    rng = np.random.default_rng(3)
    for _ in range(60):
        a = random_actions(rng, 4)
        o1, r1, d1, _ = venv.step(a)
        o2, r2, t2, _, _ = raw.step(a)
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2.astype(np.float32))
        np.testing.assert_array_equal(d1, t2)


def test_gymnasium_sync_vector_env_layout():
    """Gymnasium's own vector envs batch final_info as a dict of arrays: also understood."""
    sync = gym.make_vec(
        "plantrl/BOF-v2",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        action_mode="absolute",
    )
    venv = NativeVecEnvAdapter(sync)
    venv.seed(0)
    venv.reset()
    assert set(venv.reset_infos[0]) >= {"truth", "unit_end"}
    *_, dones, infos, log = run_until_done(venv, np.random.default_rng(0))
    for i in np.flatnonzero(dones):
        info = infos[i]
        assert info["unit_end"] is True and info["terminal_observation"].shape == (26,)
        assert set(info["unit_kpi"]) >= set(layout.UNIT_KPI.names) | {
            "p_in_spec"
        }  # BOFEnv's KPI dict
        assert info["episode"]["l"] == len(log)


def test_rejects_next_step_autoreset():
    raw = envs.make_vec("bof", num_envs=2)  # default next_step
    with pytest.raises(ValueError, match="same_step"):
        NativeVecEnvAdapter(raw)
    with pytest.raises(ValueError, match="same_step"):
        make_sb3_vec_env("bof", n_envs=2, autoreset_mode="next_step")
    with pytest.raises(ValueError, match="unknown env"):
        make_sb3_vec_env("paint-shop", n_envs=2)


def test_attributes_methods_and_wrappers():
    venv = make_sb3_vec_env("bof", n_envs=3, seed=0)
    assert venv.get_attr("render_mode") == [None] * 3
    assert venv.get_attr("num_envs", indices=[0, 2]) == [3, 3]
    assert venv.has_attr("variant") and not venv.has_attr("no_such_attribute")
    assert venv.env_is_wrapped(gym.Wrapper) == [False] * 3
    venv.set_attr("custom_flag", 1)
    assert venv.get_attr("custom_flag") == [1, 1, 1]
    with pytest.raises(NotImplementedError, match="subset of plants"):
        venv.set_attr("custom_flag", 2, indices=[1])
    with pytest.raises(NotImplementedError, match="subset of plants"):
        venv.env_method("reset", indices=0)
    obs_list = venv.env_method("reset", seed=0)
    assert len(obs_list) == 3
    assert venv.render() is None
    venv.close()


def test_vecmonitor_on_top_agrees():
    """Episode stats come from the adapter; a VecMonitor on top reports the same numbers."""

    def first_episode(wrap: bool) -> dict:
        venv = make_sb3_vec_env("bof", n_envs=4, seed=2, action_mode="absolute")
        if wrap:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. "already wrapped with a Monitor"
                venv = VecMonitor(venv)
        venv.reset()
        *_, dones, infos, _ = run_until_done(venv, np.random.default_rng(0))
        return infos[int(np.flatnonzero(dones)[0])]["episode"]

    own, monitored = first_episode(False), first_episode(True)
    assert own["l"] == monitored["l"]
    # VecMonitor sums the float32 rewards, the adapter the env's float64 ones
    assert own["r"] == pytest.approx(monitored["r"], rel=1e-5)


def test_sb3_policy_uses_vecnormalize_obs_stats():
    venv = VecNormalize(make_sb3_vec_env("bof", n_envs=4, seed=0), norm_obs=True)
    obs = venv.reset()
    for _ in range(5):
        venv.step(np.zeros((4, N_ACT), dtype=np.float32))
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=8,
        batch_size=32,
        seed=0,
        device="cpu",
        policy_kwargs={"net_arch": [8]},
    )
    venv.training = False
    policy = SB3Policy(model, venv)
    assert isinstance(policy, Policy)
    raw = venv.get_original_obs()
    expected, _ = model.predict(venv.normalize_obs(raw), deterministic=True)
    np.testing.assert_allclose(policy.act(raw), np.clip(expected, -1, 1))
    assert policy.act(raw[0]).shape == (N_ACT,)
    assert obs.shape == raw.shape


def test_sb3_evaluate_policy_through_vecmonitor():
    """SB3's evaluate_policy (and so EvalCallback) runs on the adapter; with VecMonitor on top
    it reads the Monitor episode stats and does not warn."""
    venv = VecNormalize(
        VecMonitor(make_sb3_vec_env("bof", n_envs=4, seed=0, action_mode="absolute")),
        training=False,
        norm_reward=False,
    )
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=8,
        batch_size=32,
        seed=0,
        device="cpu",
        policy_kwargs={"net_arch": [8]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, std = evaluate_policy(model, venv, n_eval_episodes=8)
    assert np.isfinite(mean) and np.isfinite(std) and mean < 0.0


# --- acceptance: PPO through the adapter learns -------------------------------------------------
def test_ppo_beats_random_in_absolute_mode(tmp_path):
    """PPO (MlpPolicy [64, 64]) on 8 native plants via the adapter + VecNormalize beats random.

    ``action_mode="absolute"``: [-1, 1] maps straight to the actuator ranges, so both a random
    policy and the constant mid-range action (what an untrained deterministic actor does) run
    every heat far from practice (feeds at mid-range all blow long, wrong flow and lance): mean
    return ≈ -52.7 and -52.4 kEUR/heat on the evaluation seeds. Since BOF-v2 neither ends blows
    early (the end target is floored before the sub-lance and rate-limited), so the v1 contrast of
    ≈ -640 vs -36 is gone; what is left to learn in 16 384 steps (8 rollouts of 8 × 256, ≈ 4 s on
    one core) is smaller: PPO reaches -48.6 / -49.7 / -48.9 with training seeds 0 / 1 / 2, i.e.
    +2.7 to +4.1 kEUR/heat over both references on the same 8 heats (paired s.e. ≈ 1); the test
    asks for +1.5. ``log_std_init=-1`` (exploration std ≈ 0.37 instead of 1) keeps most samples
    unclipped.

    Evaluation: deterministic actions, VecNormalize in eval mode (``training=False``,
    ``norm_reward=False``), the same 8 episode seeds for PPO and random. It also checks that SB3's
    episode bookkeeping works through the adapter without VecMonitor (``ep_info_buffer`` and the
    logged ``rollout/ep_rew_mean``).
    """
    torch.set_num_threads(1)
    seed = 0
    venv = VecNormalize(
        make_sb3_vec_env("bof", n_envs=N_ENVS, seed=seed, action_mode="absolute"),
        norm_obs=True,
        norm_reward=True,
    )
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=256,
        batch_size=256,
        n_epochs=5,
        learning_rate=3e-4,
        policy_kwargs={"net_arch": [64, 64], "log_std_init": -1.0},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.set_logger(configure(str(tmp_path), ["csv"]))
    untrained = SB3Policy(model, venv)
    venv.training = False
    midrange = episode_returns(untrained, EVAL_SEEDS, action_mode="absolute").mean()
    venv.training = True

    model.learn(total_timesteps=16_384)

    assert len(model.ep_info_buffer) > 0
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["rollout/ep_rew_mean"] != "" for r in rows)

    venv.training, venv.norm_reward = False, False
    ppo = episode_returns(
        SB3Policy(model, venv, deterministic=True), EVAL_SEEDS, action_mode="absolute"
    )
    rand = episode_returns(RandomPolicy(N_ACT, seed=0), EVAL_SEEDS, action_mode="absolute")
    assert ppo.mean() > rand.mean() + 1.5, (ppo.mean(), rand.mean())
    # and it learned something beyond the untrained actor's constant mid-range action
    assert ppo.mean() > midrange + 1.5, (ppo.mean(), midrange)
