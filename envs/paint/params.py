"""Parameters of an automotive topcoat line: bell stations, paints, booth climate, oven, costs.

Every value carries its unit and source. "calibrated" means it was fitted here so that the nominal
plant under the operator's fixed recipe lands inside the acceptance envelope of
``docs/physics/paint.md`` §9 (see ``experiments/calibration/paint.py`` and
``tests/test_paint_physics.py``); "est." marks an engineering estimate without a source (the
envelope marks the same numbers *(est.)*). Every field with its source: ``docs/physics/paint.md``
§7; full citations: §12. Source keys:

- [PHY] (also "PHYSICS.md" in a ``source`` string) the acceptance envelope,
  ``docs/physics/paint.md`` §9.1; [B1]…[B7] the sections of the background notes behind it,
  whose relations ``docs/physics/paint.md`` §3 reproduces.
- [Wil18] Wilson et al., Coatings 8(5):174 (2018) — bell droplet size vs speed (exponent ≈ 0.3).
- [GEA] GEA Niro, "Rotary atomizers" — droplet size ∝ flow^0.2.
- [SCS] Bonner (Saint Clair Systems), Products Finishing — 2K clear Dv50 −1.1 %/K.
- [Pat79] Patton (1979) via the Elcometer 2210 manual — Zahn #4: ν[cSt] = 14.8 (t − 5).
- [IMECE97] IMECE 1997 waterborne bell study — 100–250 mL/min, 120–180 L/min SA, 60–90 kV.
- [IMC] International Mechanical Code 502.7.3.3 — ≥ 0.25 m/s down-draft for automated e-stat.
- [GBM] GBM Industries / Seal Pump booth pages — waterborne sprayed at 65–75 % RH.
- [Kiil06] Kiil, Prog. Org. Coat. 57:236–250 (2006) — falling rate from polymer fraction 0.74.
- [Stel24] Stellantis, "Paint by numbers" (2024) — 245–640 kWh per vehicle, whole paint shop.
- [Sad08] Sadeghipour, Westervelt & Bhattacharya, ACC 2008 — booth HVAC the largest user.
- [AIAG] AIAG PPAP practice — Cpk ≥ 1.33 in production.
- [PF-CC] Products Finishing, climate control — booth spec 25.6 ± 2.8 °C, 65 ± 10 %RH.
- [Kraft] Kraft (Koch), Products Finishing 1996 — 25–35 min oven for ≥ 20 min at cure temperature.
- [BYK-OTC] BYK-Gardner oven note — equivalent cure pairs 165/170/175 °C (E 59–74 kJ/mol).
- [DPQ] Datapaq — cure index band 90–115 (100 = reference cure).
- [Hen06] Henshaw et al., JCTR 3:285 (2006) — OEM base + clear cured at ≈ 150 °C.
  (Full citations of these: docs/physics/paint.md §12, docs/physics/paint_v1_sources.md §7.)

Layout: field order is the layout of the float array the compiled core reads. The two bell
stations have identical blocks of fields (``base_*`` then ``clear_*``, same order), so the core
addresses a layer's parameter as ``P_<NAME> + layer * LAYER_STRIDE``; a module check enforces it.

Energy sizing (est., documented choice): the model covers the base and clear bell booths and the
topcoat oven with its base flash, which is a part of the 245–640 kWh/vehicle whole-shop figure
[Stel24] (which also holds pretreatment, e-coat and its oven, sealer, primer and their booths,
manual zones, compressed air). The nominal plant is sized to ≈ 45–50 kWh of booth HVAC and
≈ 50 kWh of oven and heated flash per body, ≈ 95 kWh in all: 15–40 % of the whole-shop figure,
the two booths' HVAC of the order of the oven, as befits the largest single user [Sad08].

Paint per body: our two layers take ≈ 1 L of base and ≈ 1.3 L of clear per body, ≈ 2.3–2.6 L;
the 12–15 L all-layer figure [B1] also holds e-coat (dip, most of the volume on 15–25 m² of total
surface inside and out), primer/surfacer and the interior and manual passes, which we do not model.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from envs.core.params import PlantParams, param

__all__ = ["LAYERS", "LAYER_FIELDS", "STYLES", "PaintLineParams"]

LAYERS = ("base", "clear")
STYLES = ("sedan", "suv", "hatch")


@dataclasses.dataclass(frozen=True)
class PaintLineParams(PlantParams):
    """One topcoat line. Field order is the layout of the float array the compiled core reads."""

    process: ClassVar[str] = "paint"

    # --- line ------------------------------------------------------------------------------------
    jph: float = param(
        50.0,
        unit="1/h",
        low=20,
        high=80,
        doc="jobs (bodies) per hour; one control step is one body, 3600/jph s",
        source="[PHY] variants 30/50/70",
    )
    shift_start_h: float = param(
        6.0, unit="h", low=0, high=24, doc="time of day of the first body", source="est."
    )
    flash_ambient_pitches: float = param(
        3.0,
        unit="bodies",
        low=0,
        high=20,
        doc="ambient flash after the base, in body pitches (3.6 min at 50 JPH)",
        source="est. [B4] 3–5 min",
    )
    flash_heated_pitches: float = param(
        5.0,
        unit="bodies",
        low=1,
        high=20,
        doc="heated flash (dehydration) of the base before clear, in body pitches",
        source="est. [B4]",
    )
    oven_pitches: float = param(
        25.0,
        unit="bodies",
        low=10,
        high=60,
        doc="oven dwell in body pitches (30 min at 50 JPH)",
        source="est. [B6] oven 30–45 min incl. cooling",
    )
    dft_delay_bodies: float = param(
        40.0,
        unit="bodies",
        low=1,
        high=120,
        doc="bodies between application and the post-oven DFT reading",
        source="est. [B6] 25–60",
    )
    inline_wft: float = param(
        0.0,
        unit="0/1",
        low=0,
        high=1,
        doc="inline terahertz wet-film sensor per layer installed (no delay)",
        source="[B6] Krimi 2016; option",
    )
    # --- body styles (mixed-model line; the next style is known) --------------------------------
    style_p_sedan: float = param(
        0.5, unit="-", low=0, high=1, doc="share of sedans in the mix", source="est."
    )
    style_p_suv: float = param(0.3, unit="-", low=0, high=1, doc="share of SUVs", source="est.")
    style_p_hatch: float = param(
        0.2, unit="-", low=0, high=1, doc="share of hatchbacks", source="est."
    )
    area_sedan_m2: float = param(
        10.0,
        unit="m2",
        low=4,
        high=20,
        doc="exterior area painted by the bells, sedan (total body ≈ 20 m²)",
        source="[B1] ≈ 10 m² in the clear check; est.",
    )
    area_suv_m2: float = param(
        12.5,
        unit="m2",
        low=4,
        high=20,
        doc="exterior painted area, SUV (total ≈ 25 m²)",
        source="est.",
    )
    area_hatch_m2: float = param(
        8.0,
        unit="m2",
        low=4,
        high=20,
        doc="exterior painted area, hatch (total ≈ 16 m²)",
        source="est.",
    )
    te_geo_sedan: float = param(
        1.0, unit="-", low=0.7, high=1.0, doc="geometry factor of TE, sedan", source="[B2] 1.0"
    )
    te_geo_suv: float = param(
        0.90, unit="-", low=0.7, high=1.0, doc="geometry factor of TE, SUV", source="[B2] 0.85–1.0"
    )
    te_geo_hatch: float = param(
        0.95,
        unit="-",
        low=0.7,
        high=1.0,
        doc="geometry factor of TE, hatch",
        source="[B2] 0.85–1.0",
    )
    # --- base coat station and paint (block order = clear block order) --------------------------
    base_n_bells: float = param(
        6.0,
        unit="-",
        low=1,
        high=16,
        doc="bells of the base booth (bell/bell: 2 passes × roof and sides)",
        source="est.",
    )
    base_on_fraction: float = param(
        0.67,
        unit="-",
        low=0.2,
        high=0.95,
        doc="spray-on time share of the cycle",
        source="[B1] 40/60 s",
    )
    base_vs: float = param(
        0.20,
        unit="-",
        low=0.10,
        high=0.35,
        doc="volume solids of the waterborne base",
        source="[PHY] 15–30 %",
    )
    base_visc_mpas: float = param(
        300.0,
        unit="mPa s",
        low=50,
        high=1500,
        doc="viscosity at 23 degC, nominal lot",
        source="est. (≈ 24 s Zahn 4)",
    )
    base_density_kg_l: float = param(
        1.05, unit="kg/L", low=0.8, high=1.4, doc="paint density (cSt <-> mPa s)", source="est."
    )
    base_visc_ea_kj_mol: float = param(
        18.5,
        unit="kJ/mol",
        low=0,
        high=80,
        doc="Arrhenius activation energy of viscosity (2.5 %/K)",
        source="[PHY]/[B4] est. 2.5 %/K",
    )
    base_price_eur_l: float = param(
        20.0, unit="EUR/L", low=0, high=200, doc="paint price", source="est."
    )
    base_dft_target_um: float = param(
        15.0, unit="um", low=5, high=40, doc="DFT target", source="[PHY] 12–25, ≈ 15"
    )
    base_dft_tol_um: float = param(
        3.0, unit="um", low=1, high=10, doc="DFT tolerance (± band)", source="[PHY] ± 3–5 (est.)"
    )
    base_d32_ref_um: float = param(
        22.0,
        unit="um",
        low=5,
        high=80,
        doc="Sauter diameter at 40 krpm, 300 mL/min, nominal viscosity, 90 kV",
        source="est. [B3] ≈ 25 for clear",
    )
    base_sa_opt_nl_min: float = param(
        250.0, unit="NL/min", low=50, high=700, doc="shaping air of best TE", source="est. [B2]"
    )
    base_te_rh_weight: float = param(
        1.0,
        unit="-",
        low=0,
        high=1,
        doc="weight of the booth-RH factor of TE (waterborne: full)",
        source="est. [B2]/[GBM]",
    )
    base_evap_inflight: float = param(
        0.10,
        unit="-",
        low=0,
        high=0.5,
        doc="solvent share a d32_ref droplet loses in flight at 23 degC / 70 %RH",
        source="est. [B4] 5–20 %",
    )
    base_dry_spray_e_crit: float = param(
        0.2568,
        unit="-",
        low=0.01,
        high=0.8,
        doc="in-flight evaporation at 50 % dry-spray risk",
        source="calibrated: nominal-body risk 0.3 % (est.) at 23 degC / 70 %RH [PF-CC]",
    )
    base_sag_crit_wet_um: float = param(
        112.08,
        unit="um",
        low=20,
        high=400,
        doc="wet film at 50 % sag risk (nominal viscosity and flash rate)",
        source="calibrated: nominal-body risk 0.3 % (est.)",
    )
    base_orange_peel_d_um: float = param(
        31.73,
        unit="um",
        low=5,
        high=150,
        doc="d32 at 50 % orange-peel risk",
        source="calibrated: nominal-body risk 0.5 % (est.)",
    )
    base_te_scatter_rel: float = param(
        0.0536,
        unit="-",
        low=0,
        high=0.3,
        doc="per-body relative scatter of deposition (geometry, path, gun-to-body)",
        source="calibrated: pooled Cpk 1.15 (PHYSICS.md 1.0–1.33)",
    )
    base_recipe_speed_krpm: float = param(
        45.0, unit="krpm", low=10, high=70, doc="recipe bell speed", source="[IMECE97] 20–50"
    )
    base_recipe_shaping_air_nl_min: float = param(
        300.0, unit="NL/min", low=100, high=600, doc="recipe shaping air", source="est."
    )
    base_recipe_voltage_kv: float = param(
        65.0,
        unit="kV",
        low=30,
        high=90,
        doc="recipe high voltage (at most the 90 kV actuator cap)",
        source="[IMECE97] 60–90",
    )
    base_waterborne: float = param(
        1.0,
        unit="0/1",
        low=0,
        high=1,
        doc="1 = waterborne (evaporation against booth humidity), 0 = solvent-borne",
        source="[PHY] Europe mostly waterborne",
    )
    base_hv_onset_kv: float = param(
        65.0,
        unit="kV",
        low=30,
        high=90,
        doc="high voltage above which the effect base's flop/clouding risk rises",
        source="[Khanna08], [PF-met] direction; est.: the recipe the paint is approved at",
    )
    base_hv_risk_at_cap: float = param(
        0.015,
        unit="-",
        low=0,
        high=0.2,
        doc="that risk per body at the 90 kV cap (quadratic from the onset), priced as rework",
        source="est. ≈ 1–2 % at 90 kV (paint_v1_sources.md §3.3)",
    )
    # --- clear coat station and paint (same order as the base block) ----------------------------
    clear_n_bells: float = param(
        6.0,
        unit="-",
        low=1,
        high=16,
        doc="bells of the clear booth (2 passes × roof and sides)",
        source="est. ([B1] check: 4 bells at 60 JPH)",
    )
    clear_on_fraction: float = param(
        0.67,
        unit="-",
        low=0.2,
        high=0.95,
        doc="spray-on time share of the cycle",
        source="[B1] 40/60 s",
    )
    clear_vs: float = param(
        0.50,
        unit="-",
        low=0.35,
        high=0.70,
        doc="volume solids of the 1K clear",
        source="[PHY] 45–60 %",
    )
    clear_visc_mpas: float = param(
        280.0,
        unit="mPa s",
        low=50,
        high=1500,
        doc="viscosity at 23 degC, nominal lot",
        source="est. (≈ 24 s Zahn 4)",
    )
    clear_density_kg_l: float = param(
        1.00, unit="kg/L", low=0.8, high=1.4, doc="paint density (cSt <-> mPa s)", source="est."
    )
    clear_visc_ea_kj_mol: float = param(
        29.37,
        unit="kJ/mol",
        low=0,
        high=80,
        doc="Arrhenius activation energy of viscosity (4 %/K, high solids)",
        source="calibrated: d32 −1.0 %/K [SCS]",
    )
    clear_price_eur_l: float = param(
        12.0, unit="EUR/L", low=0, high=200, doc="paint price", source="est."
    )
    clear_dft_target_um: float = param(
        45.0, unit="um", low=20, high=100, doc="DFT target", source="[PHY] 38–51"
    )
    clear_dft_tol_um: float = param(
        5.0, unit="um", low=1, high=15, doc="DFT tolerance (± band)", source="[PHY] ± 3–5 (est.)"
    )
    clear_d32_ref_um: float = param(
        25.0,
        unit="um",
        low=5,
        high=80,
        doc="Sauter diameter at 40 krpm, 300 mL/min, nominal viscosity, 90 kV",
        source="est. [B3]",
    )
    clear_sa_opt_nl_min: float = param(
        300.0, unit="NL/min", low=50, high=700, doc="shaping air of best TE", source="est. [B2]"
    )
    clear_te_rh_weight: float = param(
        0.3,
        unit="-",
        low=0,
        high=1,
        doc="weight of the booth-RH factor of TE (solvent-borne: static only)",
        source="est.",
    )
    clear_evap_inflight: float = param(
        0.08,
        unit="-",
        low=0,
        high=0.5,
        doc="solvent share a d32_ref droplet loses in flight at 23 degC / 70 %RH",
        source="est. [B4] 5–20 %",
    )
    clear_dry_spray_e_crit: float = param(
        0.1765,
        unit="-",
        low=0.01,
        high=0.8,
        doc="in-flight evaporation at 50 % dry-spray risk",
        source="calibrated: nominal-body risk 0.3 % (est.)",
    )
    clear_sag_crit_wet_um: float = param(
        147.64,
        unit="um",
        low=20,
        high=400,
        doc="wet film at 50 % sag risk (nominal viscosity)",
        source="calibrated: nominal-body risk 0.3 % (est.)",
    )
    clear_orange_peel_d_um: float = param(
        36.34,
        unit="um",
        low=5,
        high=150,
        doc="d32 at 50 % orange-peel risk",
        source="calibrated: nominal-body risk 0.5 % (est.)",
    )
    clear_te_scatter_rel: float = param(
        0.0232,
        unit="-",
        low=0,
        high=0.3,
        doc="per-body relative scatter of deposition (geometry, path, gun-to-body)",
        source="calibrated: pooled Cpk 1.15 (PHYSICS.md 1.0–1.33)",
    )
    clear_recipe_speed_krpm: float = param(
        40.0, unit="krpm", low=10, high=70, doc="recipe bell speed", source="[B3] d_ref at 40"
    )
    clear_recipe_shaping_air_nl_min: float = param(
        350.0, unit="NL/min", low=100, high=600, doc="recipe shaping air", source="est."
    )
    clear_recipe_voltage_kv: float = param(
        80.0,
        unit="kV",
        low=30,
        high=90,
        doc="recipe high voltage (at most the 90 kV actuator cap)",
        source="[PHY] 60–100",
    )
    clear_waterborne: float = param(
        0.0,
        unit="0/1",
        low=0,
        high=1,
        doc="1 = waterborne, 0 = solvent-borne (1K clear)",
        source="[PHY]",
    )
    clear_hv_onset_kv: float = param(
        80.0,
        unit="kV",
        low=30,
        high=90,
        doc="high voltage above which the clear's recess (Faraday) and edge-build risk rises",
        source="[PCF], [Sundial] direction; est. ≈ 80 kV (paint_v1_sources.md §3.3)",
    )
    clear_hv_risk_at_cap: float = param(
        0.01,
        unit="-",
        low=0,
        high=0.2,
        doc="that risk per body at the 90 kV cap (quadratic from the onset), priced as rework",
        source="est. (direction sourced, size not)",
    )
    # --- atomisation (rotary bell) ---------------------------------------------------------------
    d32_speed_exp: float = param(
        0.6,
        unit="-",
        low=0.2,
        high=1.2,
        doc="a in d32 ∝ N^-a",
        source="[B3] 0.3–1.0, default 0.6 ([Wil18] 0.29 near-cup)",
    )
    d32_flow_exp: float = param(
        0.2, unit="-", low=0, high=0.6, doc="b in d32 ∝ Q^b", source="[GEA] 0.2"
    )
    d32_visc_exp: float = param(
        0.25, unit="-", low=0, high=0.6, doc="c in d32 ∝ mu^c", source="est. [B3] 0.1–0.25"
    )
    d32_volt_k: float = param(
        0.1,
        unit="-",
        low=0,
        high=0.5,
        doc="k_U in (1 − k_U U/U_ref): voltage makes droplets smaller",
        source="[B3] 0.1 at 90 kV, direction only",
    )
    ref_speed_krpm: float = param(40.0, unit="krpm", low=10, high=70, doc="N_ref", source="[B3]")
    ref_flow_ml_min: float = param(
        300.0, unit="mL/min", low=50, high=600, doc="Q_ref", source="[B3]"
    )
    ref_voltage_kv: float = param(90.0, unit="kV", low=30, high=120, doc="U_ref", source="[B3]")
    # --- transfer efficiency ---------------------------------------------------------------------
    te_0: float = param(
        0.45, unit="-", low=0.2, high=0.7, doc="TE without voltage", source="[B2] est."
    )
    te_max: float = param(
        0.85, unit="-", low=0.6, high=0.98, doc="TE at saturating voltage", source="[B2] est."
    )
    te_u_c_kv: float = param(
        35.0, unit="kV", low=5, high=100, doc="voltage scale of TE", source="[B2] est."
    )
    te_k_v: float = param(
        1.5,
        unit="s/m",
        low=0,
        high=5,
        doc="TE loss per m/s of down-draft above 0.3",
        source="[B2] est.",
    )
    down_draft_m_s: float = param(
        0.40,
        unit="m/s",
        low=0.2,
        high=0.6,
        doc="booth down-draft velocity",
        source="[IMC] 0.25–0.5",
    )
    te_k_sa: float = param(
        0.3, unit="-", low=0, high=2, doc="curvature of the shaping-air optimum", source="est. [B2]"
    )
    te_d_c_um: float = param(
        10.0,
        unit="um",
        low=1,
        high=30,
        doc="fines scale: (1 − exp(−(d32/d_c)²))",
        source="[B2] est.",
    )
    te_rh_lo_pct: float = param(
        55.0,
        unit="%RH",
        low=20,
        high=70,
        doc="below this RH, TE falls (dry spray, static)",
        source="[GBM] 65–75 optimum; est.",
    )
    te_rh_hi_pct: float = param(
        80.0,
        unit="%RH",
        low=75,
        high=100,
        doc="above this RH, TE falls slightly",
        source="est., unsourced",
    )
    te_k_rh_dry: float = param(
        0.12,
        unit="-",
        low=0,
        high=1,
        doc="TE loss 25 %RH below te_rh_lo",
        source="est., set by hand: TE −4 % at 40 % RH",
    )
    te_k_rh_wet: float = param(
        0.03,
        unit="-",
        low=0,
        high=1,
        doc="TE loss 10 %RH above te_rh_hi",
        source="est. (charge leakage, unsourced)",
    )
    flow_noise_rel: float = param(
        0.015,
        unit="-",
        low=0,
        high=0.2,
        doc="per-body relative flow error (gear pump)",
        source="est.",
    )
    # --- booth and outdoor climate ---------------------------------------------------------------
    booth_temp_c: float = param(
        23.0,
        unit="degC",
        low=15,
        high=32,
        doc="nominal booth temperature set-point",
        source="[B4] 22–24",
    )
    booth_rh_pct: float = param(
        70.0, unit="%RH", low=30, high=95, doc="nominal booth RH set-point", source="[GBM] 65–75"
    )
    booth_tau_min: float = param(
        5.0,
        unit="min",
        low=0.5,
        high=30,
        doc="booth climate first-order lag",
        source="[PHY] 3–10 (est.)",
    )
    booth_delay_bodies: float = param(
        1.0,
        unit="bodies",
        low=0,
        high=1,
        doc="HVAC transport delay (0 or 1 body)",
        source="[PHY] 0.5–2 min",
    )
    hvac_leak_temp: float = param(
        0.04,
        unit="-",
        low=0,
        high=0.5,
        doc="share of the outdoor−set-point temperature leaking in",
        source="est.",
    )
    hvac_leak_rh: float = param(
        0.10,
        unit="-",
        low=0,
        high=0.6,
        doc="share of the outdoor−set-point vapour-pressure difference leaking in",
        source="est.",
    )
    outdoor_temp_mean_c: float = param(
        12.0,
        unit="degC",
        low=-20,
        high=45,
        doc="daily mean outdoor temperature",
        source="est. temperate",
    )
    outdoor_temp_amp_k: float = param(
        5.0, unit="K", low=0, high=15, doc="amplitude of the daily outdoor swing", source="est."
    )
    outdoor_peak_h: float = param(
        15.0, unit="h", low=0, high=24, doc="time of day of the outdoor maximum", source="est."
    )
    outdoor_dewpoint_c: float = param(
        6.0,
        unit="degC",
        low=-30,
        high=30,
        doc="outdoor dew point (absolute humidity)",
        source="est.",
    )
    paint_temp_c: float = param(
        24.0,
        unit="degC",
        low=15,
        high=35,
        doc="paint supply temperature (conditioned)",
        source="est.",
    )
    visc_ref_temp_c: float = param(
        23.0,
        unit="degC",
        low=15,
        high=30,
        doc="reference temperature of the viscosities",
        source="est.",
    )
    # --- disturbances (drift-bank magnitudes; see core.default_drifts) ---------------------------
    weather_sd_k: float = param(
        2.5,
        unit="K",
        low=0,
        high=10,
        doc="stationary sd of the outdoor-temperature wander",
        source="est.",
    )
    weather_rh_sd_pct: float = param(
        8.0, unit="%RH", low=0, high=30, doc="stationary sd of the outdoor-RH wander", source="est."
    )
    weather_tau_h: float = param(
        12.0,
        unit="h",
        low=0.5,
        high=100,
        doc="correlation time of the weather wander",
        source="est.",
    )
    paint_temp_sd_k: float = param(
        0.7,
        unit="K",
        low=0,
        high=5,
        doc="stationary sd of the paint-temperature wander",
        source="est.",
    )
    paint_temp_tau_h: float = param(
        1.5,
        unit="h",
        low=0.05,
        high=24,
        doc="correlation time of the paint temperature",
        source="est.",
    )
    batch_interval_bodies: float = param(
        300.0,
        unit="bodies",
        low=20,
        high=5000,
        doc="mean bodies per paint lot",
        source="[B4] few hundred (est.)",
    )
    visc_batch_rel: float = param(
        0.05,
        unit="-",
        low=0,
        high=0.3,
        doc="lot-to-lot sd of ln viscosity (i.i.d. lots)",
        source="[B4] ≈ 5 % (est.)",
    )
    vs_batch_rel: float = param(
        0.015,
        unit="-",
        low=0,
        high=0.1,
        doc="lot-to-lot relative sd of the volume solids (i.i.d. lots)",
        source="[B4] ≈ 1.5 % (est.)",
    )
    visc_loop_sd_rel: float = param(
        0.02,
        unit="-",
        low=0,
        high=0.2,
        doc="stationary sd of the circulation-loop viscosity wander (relative)",
        source="est.",
    )
    visc_loop_tau_h: float = param(
        2.0,
        unit="h",
        low=0.05,
        high=48,
        doc="correlation time of the loop viscosity",
        source="est.",
    )
    bell_wear_per_kbody: float = param(
        0.02,
        unit="1/1000 bodies",
        low=0,
        high=0.2,
        doc="rise of the d32 multiplier (cup wear)",
        source="est.",
    )
    # --- in-flight evaporation and flash-off of the base -----------------------------------------
    evap_km_m_s: float = param(
        3.0e-3,
        unit="m/s",
        low=5e-4,
        high=2e-2,
        doc="gas-side mass transfer, ambient flash",
        source="[B4] 2–5e-3 (est.)",
    )
    flash_km_factor: float = param(
        2.0, unit="-", low=1, high=10, doc="k_m of the heated flash (jets) / ambient", source="est."
    )
    flash_temp_c: float = param(
        70.0, unit="degC", low=30, high=120, doc="heated-flash air temperature", source="est. [B4]"
    )
    phi_crit: float = param(
        0.74,
        unit="-",
        low=0.5,
        high=0.95,
        doc="polymer volume fraction ending the constant rate",
        source="[Kiil06]",
    )
    skin_tau_ambient_min: float = param(
        8.0,
        unit="min",
        low=0.5,
        high=60,
        doc="falling-rate time constant at ambient",
        source="est.",
    )
    skin_tau_heated_min: float = param(
        2.0,
        unit="min",
        low=0.1,
        high=30,
        doc="falling-rate time constant in the heated flash",
        source="est., set by hand: ≈ 8 % water left at nominal",
    )
    visc_evap_k: float = param(
        3.0,
        unit="-",
        low=0,
        high=10,
        doc="ln viscosity rise per in-flight solvent share lost",
        source="est.",
    )
    # --- oven and cure ---------------------------------------------------------------------------
    recipe_oven_c: float = param(
        163.8,
        unit="degC",
        low=120,
        high=180,
        doc="recipe oven air set-point",
        source="calibrated: heavy-section dose 1.25 × 140 °C × 20 min ([Kraft] margin)",
    )
    oven_air_tau_min: float = param(
        4.0,
        unit="min",
        low=0.5,
        high=30,
        doc="oven air temperature lag to its set-point",
        source="est.",
    )
    tau_obj_thin_min: float = param(
        6.0,
        unit="min",
        low=1,
        high=20,
        doc="object heat-up lag, thin panels",
        source="[PHY] 5–10 (est.)",
    )
    tau_obj_heavy_min: float = param(
        10.0,
        unit="min",
        low=2,
        high=30,
        doc="object heat-up lag, heavy sills",
        source="[PHY] 5–10, slower (est.)",
    )
    cure_ref_c: float = param(
        140.0,
        unit="degC",
        low=80,
        high=200,
        doc="reference cure temperature, 1K clear",
        source="[B5] ≈ 140",
    )
    cure_ref_min: float = param(
        20.0,
        unit="min",
        low=5,
        high=60,
        doc="reference cure time at cure_ref_c (α = cure_alpha_ref)",
        source="[B5] ≈ 20 (est.)",
    )
    cure_alpha_ref: float = param(
        0.95,
        unit="-",
        low=0.5,
        high=0.999,
        doc="cure index reached at the reference bake",
        source="est.",
    )
    cure_ea_kj_mol: float = param(
        66.0,
        unit="kJ/mol",
        low=20,
        high=200,
        doc="activation energy of the cure",
        source="[BYK-OTC] 165/170/175 degC equivalence, 59–74 (e-coat analogue)",
    )
    cure_alpha_min: float = param(
        0.9327,
        unit="-",
        low=0.5,
        high=0.999,
        doc="heavy-section cure index needed (90 % of the reference dose)",
        source="[DPQ] cure index band 90–115: 1 − (1 − 0.95)^0.9",
    )
    overbake_temp_c: float = param(
        165.0,
        unit="degC",
        low=120,
        high=220,
        doc="thin-section temperature counting as over-bake",
        source="est.: 15 K above the highest sourced topcoat bake ([Hen06] 150 degC)",
    )
    overbake_max_min: float = param(
        10.0,
        unit="min",
        low=1,
        high=60,
        doc="allowed thin-section time above overbake_temp_c",
        source="est.",
    )
    # --- energy ----------------------------------------------------------------------------------
    booth_supply_m3_s: float = param(
        100.0,
        unit="m3/s",
        low=10,
        high=400,
        doc="supply air of both booths (≈ 250 m² × 0.4 m/s)",
        source="est.",
    )
    fresh_air_frac: float = param(
        0.6, unit="-", low=0.05, high=1, doc="share of outdoor air in the supply", source="est."
    )
    fan_kw: float = param(
        350.0,
        unit="kW",
        low=0,
        high=3000,
        doc="booth supply and exhaust fans",
        source="est. (≈ 2.5 kPa, η 0.7)",
    )
    hvac_heat_eff: float = param(
        0.9,
        unit="-",
        low=0.3,
        high=1,
        doc="heating and humidifying: air enthalpy gained per unit of energy bought",
        source="est. (gas burner, steam humidifier)",
    )
    chiller_cop: float = param(
        3.0,
        unit="-",
        low=1,
        high=8,
        doc="cooling and dehumidifying: enthalpy removed per unit of electricity",
        source="est.",
    )
    oven_loss_kw_k: float = param(
        10.0,
        unit="kW/K",
        low=0,
        high=100,
        doc="oven losses and exhaust per K above outdoor",
        source="est., sized: oven + flash ≈ 45–50 kWh/body at 50 JPH",
    )
    flash_loss_kw_k: float = param(
        2.0,
        unit="kW/K",
        low=0,
        high=50,
        doc="heated-flash losses per K above outdoor",
        source="est.",
    )
    body_heat_kj_km2: float = param(
        16.0,
        unit="kJ/(K m2)",
        low=1,
        high=60,
        doc="body heat capacity per m² of painted exterior (BIW 280–420 kg steel)",
        source="est.",
    )
    skid_heat_kj_k: float = param(
        70.0, unit="kJ/K", low=0, high=500, doc="skid and carrier heat capacity", source="est."
    )
    burner_eff: float = param(
        0.85, unit="-", low=0.3, high=1, doc="oven and flash burner efficiency", source="est."
    )
    # --- defects (logistic risks) ----------------------------------------------------------------
    sag_width_rel: float = param(
        0.07,
        unit="-",
        low=0.01,
        high=0.5,
        doc="logistic width of sag in wet film / critical",
        source="est.",
    )
    sag_visc_k: float = param(
        0.5,
        unit="-",
        low=0,
        high=2,
        doc="relative change of the critical wet film per unit ln viscosity at impact",
        source="est.",
    )
    sag_flash_k: float = param(
        0.3,
        unit="-",
        low=0,
        high=1,
        doc="relative change of the critical wet film per relative change of the flash rate (WB)",
        source="est.",
    )
    orange_peel_visc_k: float = param(
        1.0,
        unit="-",
        low=0,
        high=5,
        doc="orange-peel logit weight of ln(viscosity/ref)",
        source="est.",
    )
    orange_peel_width: float = param(
        0.08,
        unit="-",
        low=0.01,
        high=1,
        doc="logistic width of orange peel in ln(d32/threshold) (+ ln viscosity term)",
        source="calibrated: [PF-CC] window edges (docs/physics/paint.md §8)",
    )
    dry_spray_width: float = param(
        0.13,
        unit="-",
        low=0.001,
        high=0.2,
        doc="logistic width of dry spray in ln(evaporation share/threshold)",
        source="calibrated: [PF-CC] window edges (docs/physics/paint.md §8)",
    )
    pop_water_crit: float = param(
        0.1587,
        unit="-",
        low=0.01,
        high=0.5,
        doc="residual water share of the base at 50 % pop risk",
        source="calibrated: nominal-body risk 0.5 % (est.)",
    )
    pop_width: float = param(
        0.015,
        unit="-",
        low=0.001,
        high=0.2,
        doc="logistic width of pop in residual water share",
        source="est.",
    )
    pop_ramp_k: float = param(
        1.5,
        unit="-",
        low=0,
        high=10,
        doc="pop logit per relative oven ramp above recipe",
        source="est.",
    )
    pop_clear_k: float = param(
        2.0,
        unit="-",
        low=0,
        high=10,
        doc="pop logit per relative clear DFT above target",
        source="est.",
    )
    # --- costs -----------------------------------------------------------------------------------
    price_energy_eur_kwh: float = param(
        0.07, unit="EUR/kWh", low=0, high=1, doc="blended gas/electricity price", source="est."
    )
    dft_miss_cost_eur: float = param(
        150.0,
        unit="EUR",
        low=0,
        high=5000,
        doc="cost scale of a DFT miss: half of it at the band edge",
        source="est. (spot repair / re-spray)",
    )
    rework_cost_eur: float = param(
        250.0, unit="EUR", low=0, high=5000, doc="rework of one defective body", source="est."
    )
    undercure_cost_eur: float = param(
        500.0,
        unit="EUR",
        low=0,
        high=10000,
        doc="an under-cured body (re-bake, warranty risk)",
        source="est.",
    )
    overbake_cost_eur: float = param(
        200.0,
        unit="EUR",
        low=0,
        high=10000,
        doc="an over-baked body (yellowing, brittleness)",
        source="est.",
    )
    # --- sensors ---------------------------------------------------------------------------------
    dft_noise_um: float = param(
        1.5,
        unit="um",
        low=0,
        high=5,
        doc="sd of the post-oven DFT reading",
        source="[B6] 1–2 (est.)",
    )
    wft_noise_um: float = param(
        1.5,
        unit="um",
        low=0,
        high=10,
        doc="sd of the inline wet-film reading",
        source="[B6] 1–2 (est.)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.style_p_sedan + self.style_p_suv + self.style_p_hatch <= 0.0:
            raise ValueError("PaintLineParams: the style shares style_p_* must not all be 0")
        if self.te_max <= self.te_0:
            raise ValueError(
                f"PaintLineParams: te_max = {self.te_max} must exceed te_0 = {self.te_0}"
            )
        if self.te_rh_hi_pct <= self.te_rh_lo_pct:
            raise ValueError("PaintLineParams: te_rh_hi_pct must exceed te_rh_lo_pct")

    @property
    def cycle_time_s(self) -> float:
        """Takt: seconds per body, the control step."""
        return 3600.0 / self.jph


LAYER_FIELDS: tuple[str, ...] = tuple(
    f.name[len("base_") :]
    for f in dataclasses.fields(PaintLineParams)
    if f.name.startswith("base_")
)


def _check_layer_blocks() -> None:
    """The clear block must mirror the base block field by field (the core indexes by stride)."""
    names = PaintLineParams.field_names()
    base0 = names.index("base_" + LAYER_FIELDS[0])
    clear0 = names.index("clear_" + LAYER_FIELDS[0])
    for k, name in enumerate(LAYER_FIELDS):
        if names[base0 + k] != "base_" + name or names[clear0 + k] != "clear_" + name:
            raise RuntimeError(f"PaintLineParams: base/clear blocks differ at field {name!r}")


_check_layer_blocks()
