"""The vector step's plant phase runs :func:`envs.paint.core.plant_step` in parts over a block of
plants (the booth's wet bulb solved Newton step by Newton step across the block, for speed); it
must give the very numbers of the single-plant step, also on lines with a waterborne clear or a
solvent-borne base."""

from __future__ import annotations

import numpy as np

import envs
from envs.core.noise import draw_bits
from envs.paint import core
from envs.paint.layout import N_PROCESS_WORDS, P


def test_block_plant_phase_equals_plant_step_bit_for_bit():
    venv = envs.make_vec("paint", 12, scenario="drift")
    venv.reset(seed=7)
    plants = venv.unwrapped.batch.plants
    # waterborne flags of both layers in every combination across the block
    plants.params[0::4, P.base_waterborne] = 0.0
    plants.params[1::4, P.clear_waterborne] = 1.0
    plants.params[2::4, P.base_waterborne] = 0.0
    plants.params[2::4, P.clear_waterborne] = 1.0
    core.derive_batch(plants)
    rng = np.random.default_rng(3)
    n = plants.state.shape[0]
    block = plants._replace(state=plants.state.copy(), step_kpi=plants.step_kpi.copy())
    single = plants._replace(state=plants.state.copy(), step_kpi=plants.step_kpi.copy())
    idx = block.scratch.idx
    for _ in range(30):
        actions = rng.uniform(-1.0, 1.0, (n, 11))
        words = draw_bits(rng, n, N_PROCESS_WORDS)
        m = 0
        for i in range(n):  # one block of every plant, no drift values
            idx[m] = i
            m += 1
        nodrift = block._replace(scratch=block.scratch._replace(dv=np.empty((0, m))))
        core.plant_phase(nodrift, actions, words, np.int64(0), np.int64(0), m)
        cost = [core.plant_step(single, i, actions[i], words[i]) for i in range(n)]
        assert np.array_equal(block.state, single.state)
        assert np.array_equal(block.step_kpi, single.step_kpi)
        assert np.array_equal(nodrift.scratch.cost[:m], np.array(cost))
