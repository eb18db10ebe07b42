"""Plot of a paint-line shift for reviewers: film build per body against the bands, booth climate
and the actuators, body by body.

matplotlib is imported lazily (only when ``render()`` is called), so the env itself stays light.
The env keeps one snapshot per body: the body's KPIs (``core.KPI_NAMES`` keys) and the actuator
actuals (``act/<ACTUATOR_NAMES>`` keys); the reset snapshot has actuals only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from envs.paint.params import PaintLineParams


def _series(history: Sequence[Mapping[str, float]], key: str) -> np.ndarray:
    return np.array([h.get(key, np.nan) for h in history], dtype=float)


def render_shift(
    history: Sequence[Mapping[str, float]], params: PaintLineParams
) -> npt.NDArray[np.uint8]:
    """RGB array (H, W, 3): true DFT of base and clear per body vs target ± tolerance, booth
    temperature and RH with their set-points, and the station and line actuators."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    body = np.arange(len(history))
    fig, axes = plt.subplots(2, 2, figsize=(9, 5.5), dpi=80, sharex=True)
    for ax, layer in ((axes[0, 0], "base"), (axes[0, 1], "clear")):
        target = getattr(params, f"{layer}_dft_target_um")
        tol = getattr(params, f"{layer}_dft_tol_um")
        ax.axhspan(target - tol, target + tol, color="g", alpha=0.2, label="target ± tol")
        ax.plot(body, _series(history, f"dft_{layer}_um"), ".", ms=3, color="k", label="DFT")
        ax.set_ylabel(f"{layer} DFT [um]")
        ax.legend(fontsize=6, loc="lower left")
    ax = axes[1, 0]
    ax.plot(body, _series(history, "booth_temp_c"), color="tab:red")
    t_sp = params.booth_temp_c + _series(history, "act/booth_temp_offset")
    ax.plot(body, t_sp, "--", color="tab:red", lw=0.8)
    ax.set_ylabel("booth T [degC] (dashed: set-points)")
    ax.set_xlabel("body")
    twin = ax.twinx()
    twin.plot(body, _series(history, "booth_rh_pct"), color="tab:blue")
    rh_sp = params.booth_rh_pct + _series(history, "act/booth_rh_offset")
    twin.plot(body, rh_sp, "--", color="tab:blue", lw=0.8)
    twin.set_ylabel("booth RH [%]")
    ax = axes[1, 1]
    for name in ("base_flow", "clear_flow"):
        ax.plot(body, _series(history, f"act/{name}"), label=f"{name} [mL/min]")
    for name in ("base_bell_speed", "clear_bell_speed", "clear_voltage"):
        ax.plot(body, 5.0 * _series(history, f"act/{name}"), lw=0.8, label=f"{name} x5")
    ax.plot(body, _series(history, "act/oven_setpoint"), color="k", lw=0.8, label="oven [degC]")
    ax.set_xlabel("body")
    ax.legend(fontsize=6, loc="upper left", ncol=2)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()  # type: ignore[attr-defined]  # Agg canvas
    plt.close(fig)
    return image
