"""Parameters of a basic-oxygen-furnace (BOF) plant: charge, kinetics, heat, sensors, practice.

Every value carries its unit and source. "calibrated" means it was fitted here so that the nominal
plant under the operator's standard practice lands inside the acceptance envelope of
``docs/physics/bof.md`` §9 (see ``experiments/calibration/bof.py`` and
``tests/test_bof_physics.py``); "est." marks a textbook estimate without a source. Source keys
[S1]…[S21] and [V2]…[V20] are those of ``docs/physics/bof.md`` §12 (full citations; every field
with its source: §7); "PHYSICS.md" in a ``source`` string means that envelope (§9.1),
"bof_sources §n" the notes reproduced there:

- [S1] Suito & Inoue, Tetsu-to-Hagane 70(2):186 (1984) — phosphorus partition.
- [S6] Fujii & Ura, Tetsu-to-Hagane 51(9):1600 (1965) — critical carbon rises with oxygen rate.
- [S7] NPTEL 113104059 lecture 12 — FeO high in the Si period and at low carbon.
- [S9] Britannica, "Steel — the charge" — scrap needs 340 kcal/kg; 75/25 hot metal/scrap.
- [S11] Rout et al., MMTB (2018) — Mn oxidised early, reverts mid-blow.
- [S13] Jalkanen, Sohn Int. Symp. (TMS 2006) — hot-metal C 3.7–4.5 %.
- [S18] Wagenleithner & Aberl, steel research (1989) — sub-lance liquidus-arrest precision 1.4 K.
- [V13] ASTM E415, [V15] IEC 60584-2 tolerances, [V18] IEEE 10606817 (BOF endpoint
  control: re-blow after a short blow), [V19] "Secondary Steel" — docs/physics/bof_v2_sources.md §7.
- [SMn] Suito & Inoue, Tetsu-to-Hagane 70(7):672 (1984) — Mn quotient (%MnO)/([%Mn](%FetO))
  rises with falling temperature.
- [V2] Dogan, Brooks & Rhamdhani, ISIJ Int. 51(7):1093 (2011) — decarburisation in the emulsion.
- [V4] Mori & Nomura, Tetsu-to-Hagane 55(5):347 (1969) — scrap melting, coupled heat and mass
  transfer; diffusion layer 50–100 µm.
- [V5] Szekely, Chuang & Hlinka, Metall. Trans. 3:2825 (1972) — scrap dissolution vs melting.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from envs.core.params import PlantParams, param

__all__ = ["BOFParams"]


@dataclasses.dataclass(frozen=True)
class BOFParams(PlantParams):
    """One BOF plant. Field order is the layout of the float array the compiled core reads."""

    process: ClassVar[str] = "bof"

    # --- charge (nominal heat; heat-to-heat spread drawn per heat) -----------------------------
    heat_size_t: float = param(
        250.0,
        unit="t",
        low=80,
        high=400,
        doc="tapped steel per heat",
        source="PHYSICS.md §1 (100–350 t)",
    )
    hot_metal_t: float = param(
        235.0,
        unit="t",
        low=50,
        high=380,
        doc="hot metal charged",
        source="bof_sources §4 (derived)",
    )
    scrap_t: float = param(
        40.0,
        unit="t",
        low=0,
        high=150,
        doc="scrap charged",
        source="[S9] 75/25 split; bof_sources §4",
    )
    hm_c_pct: float = param(
        4.5, unit="wt%", low=3.0, high=5.0, doc="hot-metal carbon", source="[S13] 3.7–4.5"
    )
    hm_si_pct: float = param(
        0.5, unit="wt%", low=0.05, high=1.5, doc="hot-metal silicon", source="PHYSICS.md 0.2–0.8"
    )
    hm_mn_pct: float = param(
        0.3, unit="wt%", low=0.05, high=1.0, doc="hot-metal manganese", source="PHYSICS.md 0.2–0.5"
    )
    hm_p_pct: float = param(
        0.10,
        unit="wt%",
        low=0.02,
        high=0.4,
        doc="hot-metal phosphorus",
        source="PHYSICS.md 0.07–0.15",
    )
    hm_temp_c: float = param(
        1350.0,
        unit="degC",
        low=1200,
        high=1500,
        doc="hot-metal temperature",
        source="PHYSICS.md 1300–1400",
    )
    hm_c_sd_pct: float = param(
        0.08, unit="wt%", low=0, high=0.5, doc="heat-to-heat sd of HM C", source="est."
    )
    hm_si_sd_pct: float = param(
        0.08, unit="wt%", low=0, high=0.3, doc="heat-to-heat sd of HM Si", source="est."
    )
    hm_mn_sd_pct: float = param(
        0.03, unit="wt%", low=0, high=0.2, doc="heat-to-heat sd of HM Mn", source="est."
    )
    hm_p_sd_pct: float = param(
        0.01, unit="wt%", low=0, high=0.1, doc="heat-to-heat sd of HM P", source="est."
    )
    hm_temp_sd_c: float = param(
        15.0, unit="K", low=0, high=60, doc="heat-to-heat sd of HM temp.", source="est."
    )
    scrap_weigh_sd_t: float = param(
        1.0,
        unit="t",
        low=0,
        high=10,
        doc="sd of charged scrap around the charging plan (crane scale)",
        source="est.",
    )
    scrap_c_pct: float = param(0.15, unit="wt%", low=0, high=1.0, doc="scrap carbon", source="est.")
    scrap_melt_mj_kg: float = param(
        1.42,
        unit="MJ/kg",
        low=1.0,
        high=2.0,
        doc="heat to heat and melt scrap",
        source="[S9] 340 kcal/kg",
    )
    scrap_quality_sd: float = param(
        0.04,
        unit="-",
        low=0,
        high=0.3,
        doc="heat-to-heat relative sd of scrap melt heat (quality)",
        source="est.",
    )
    # scrap melting: two size classes of plates, each melting from both faces at the front
    # velocity of the coupled heat/carbon balance at its surface ([V4] Mori & Nomura 1969,
    # [V5] Szekely et al. 1972; docs/physics/bof.md §3.7)
    scrap_heavy_share: float = param(
        0.5,
        unit="-",
        low=0,
        high=1,
        doc="mass share of heavy scrap (the rest is light)",
        source="est. (scrap mix)",
    )
    scrap_light_mm: float = param(
        20.0,
        unit="mm",
        low=1,
        high=300,
        doc="thickness of the light scrap plates",
        source="est. (scrap mix)",
    )
    scrap_heavy_mm: float = param(
        100.0,
        unit="mm",
        low=1,
        high=600,
        doc="thickness of the heavy scrap plates",
        source="calibrated: heavy scrap gone before the sub-lance point",
    )
    scrap_htc_kw_m2k: float = param(
        15.0,
        unit="kW/(m2 K)",
        low=1,
        high=100,
        doc="bath-to-scrap heat-transfer coefficient",
        source="calibrated; mechanism [V4], [V5]",
    )
    scrap_km_mm_s: float = param(
        0.3,
        unit="mm/s",
        low=0.01,
        high=5,
        doc="carbon mass-transfer coefficient at the scrap surface",
        source="[V4] D_C/δ, δ = 50–100 µm: 0.2–0.4 mm/s",
    )
    slag_mgo_kg_t: float = param(
        8.0,
        unit="kg/t",
        low=0,
        high=30,
        doc="MgO in slag (dolomite, refractory), per t heat size",
        source="est. (6–8 % MgO in end slag)",
    )
    # --- oxygen split and kinetics ------------------------------------------------------------
    o2_utilisation: float = param(
        0.97,
        unit="-",
        low=0.8,
        high=1.0,
        doc="share of blown O2 reacting with the bath",
        source="est. 0.95–1.0",
    )
    affinity_si: float = param(
        10.0,
        unit="-",
        low=1,
        high=100,
        doc="oxygen affinity weight of Si (C = 1)",
        source="calibrated: Si < 0.01 % after 4–5 min",
    )
    affinity_mn: float = param(
        0.05,
        unit="-",
        low=0.0,
        high=20,
        doc="oxygen affinity weight of Mn (C = 1)",
        source="calibrated",
    )
    affinity_fe: float = param(
        0.8,
        unit="-",
        low=0.0,
        high=2,
        doc="oxygen affinity weight of Fe at reference lance height",
        source="calibrated (end FeO 15–25 %)",
    )
    fe_lance_per_m: float = param(
        0.8,
        unit="1/m",
        low=0,
        high=3,
        doc="log-slope of the Fe affinity with lance height",
        source="calibrated; direction [S7]",
    )
    kc_per_min: float = param(
        0.7,
        unit="1/min",
        low=0.2,
        high=6,
        doc="carbon mass-transfer constant at reference lance height",
        source="calibrated: critical carbon ≈ 0.3 % at nominal flow ([S6] + [S7] lower bound)",
    )
    kc_lance_per_m: float = param(
        0.15,
        unit="1/m",
        low=0,
        high=1,
        doc="log-slope of k_C with lance height",
        source="est. 0.1–0.2",
    )
    c_eq_pct: float = param(
        0.015,
        unit="wt%",
        low=0.002,
        high=0.04,
        doc="effective carbon floor of the top-blown vessel",
        source="est. 0.01–0.02 (bof_sources corr. 11)",
    )
    lance_ref_m: float = param(
        2.0,
        unit="m",
        low=1.0,
        high=3.5,
        doc="reference lance height of the kinetic constants",
        source="est.",
    )
    pcr_ref: float = param(
        0.13,
        unit="-",
        low=0.0,
        high=0.3,
        doc="post-combustion ratio CO2/(CO+CO2) at reference lance",
        source="est. 0.05–0.15",
    )
    pcr_lance_per_m: float = param(
        0.06,
        unit="1/m",
        low=0,
        high=0.3,
        doc="rise of the post-combustion ratio with lance height",
        source="est.",
    )
    feo_reduction_per_min: float = param(
        0.5,
        unit="1/min",
        low=0,
        high=5,
        doc="FeO reduction by C in the emulsion at full stirring",
        source="calibrated (U-shaped FeO)",
    )
    feo_reduction_c_half_pct: float = param(
        0.1,
        unit="wt%",
        low=0.01,
        high=2,
        doc="bath C at which FeO reduction is halved",
        source="calibrated: end FeO ≤ 25 % at C* ≈ 0.3 % (bof_sources §2.2 start value 0.3)",
    )
    mn_exchange_per_min: float = param(
        1.0,
        unit="1/min",
        low=0,
        high=5,
        doc="rate of the (FeO)+[Mn]=(MnO)+Fe exchange",
        source="calibrated",
    )
    mn_quotient_ref: float = param(
        1.5,
        unit="-",
        low=0.05,
        high=20,
        doc="(%MnO)/([%Mn](%FeO)) at 1650 degC",
        source="calibrated; form after [SMn]",
    )
    mn_quotient_temp_k: float = param(
        7000.0,
        unit="K",
        low=0,
        high=30000,
        doc="temperature coefficient of the Mn quotient",
        source="calibrated; sign after [SMn]",
    )
    p_rate_per_min: float = param(
        0.25,
        unit="1/min",
        low=0,
        high=5,
        doc="rate of approach to phosphorus partition",
        source="calibrated",
    )
    p_partition_eff: float = param(
        0.35,
        unit="-",
        low=0.05,
        high=1.0,
        doc="achieved share of the Suito-Inoue partition",
        source="calibrated, bof_sources 0.3–0.7",
    )
    lime_dissolve_tau_min: float = param(
        3.0,
        unit="min",
        low=0.2,
        high=10,
        doc="lime dissolution time constant",
        source="est. 2–4 min",
    )
    # --- heat balance --------------------------------------------------------------------------
    steel_cp_kj_kgk: float = param(
        0.82,
        unit="kJ/(kg K)",
        low=0.6,
        high=1.0,
        doc="heat capacity of liquid steel",
        source="est. (PHYSICS.md)",
    )
    slag_cp_kj_kgk: float = param(
        1.2,
        unit="kJ/(kg K)",
        low=0.8,
        high=1.6,
        doc="heat capacity of liquid slag",
        source="est. (PHYSICS.md)",
    )
    refractory_mj_k_t: float = param(
        0.30,
        unit="MJ/(K t)",
        low=0,
        high=1.0,
        doc="effective refractory heat capacity per t heat size",
        source="calibrated",
    )
    heat_efficiency: float = param(
        1.0,
        unit="-",
        low=0.4,
        high=1.0,
        doc="share of reaction heat retained by the bath",
        source="calibrated (bof_sources: ~0.9)",
    )
    post_combustion_share: float = param(
        0.5,
        unit="-",
        low=0,
        high=1,
        doc="share of CO->CO2 heat reaching the bath",
        source="est. 0.2–0.5",
    )
    heat_loss_k_min: float = param(
        1.0,
        unit="K/min",
        low=0,
        high=6,
        doc="heat loss of bath and vessel",
        source="est. 1–3 K/min",
    )
    ore_sensible_mj_kg: float = param(
        1.2,
        unit="MJ/kg",
        low=0.5,
        high=2.0,
        doc="heat to warm and melt ore (decomposition is in the chemistry)",
        source="bof_sources §2.6 est.",
    )
    lime_sensible_mj_kg: float = param(
        1.5,
        unit="MJ/kg",
        low=0.5,
        high=3.0,
        doc="heat to warm lime to bath temperature",
        source="est. 0.9 kJ/(kg K) x 1600 K",
    )
    # --- targets, limits and prices --------------------------------------------------------------
    aim_c_pct: float = param(
        0.05,
        unit="wt%",
        low=0.02,
        high=0.2,
        doc="endpoint carbon aim",
        source="PHYSICS.md 0.03–0.08",
    )
    aim_temp_c: float = param(
        1650.0,
        unit="degC",
        low=1580,
        high=1720,
        doc="endpoint temperature aim",
        source="PHYSICS.md 1620–1680",
    )
    p_spec_pct: float = param(
        0.020,
        unit="wt%",
        low=0.005,
        high=0.05,
        doc="endpoint phosphorus limit",
        source="PHYSICS.md ≤ 0.015–0.020",
    )
    temp_limit_c: float = param(
        1720.0,
        unit="degC",
        low=1650,
        high=1800,
        doc="over-temperature limit (refractory wear)",
        source="est.",
    )
    foam_limit: float = param(
        1.4,
        unit="-",
        low=0.5,
        high=5,
        doc="slag-foam index above which slopping is likely",
        source="est.",
    )
    price_o2_eur_nm3: float = param(
        0.10, unit="EUR/Nm3", low=0, high=1, doc="oxygen price", source="est."
    )
    price_ore_eur_kg: float = param(
        0.10, unit="EUR/kg", low=0, high=1, doc="iron ore price", source="est."
    )
    price_lime_eur_kg: float = param(
        0.12, unit="EUR/kg", low=0, high=1, doc="lime price", source="est."
    )
    price_fe_eur_kg: float = param(
        0.40, unit="EUR/kg", low=0, high=2, doc="value of iron lost to slag", source="est."
    )
    miss_cost_eur: float = param(
        2000.0,
        unit="EUR",
        low=0,
        high=1e5,
        doc="cost of one tolerance band of endpoint miss (re-blow, ladle correction)",
        source="est.",
    )
    # --- sensors ----------------------------------------------------------------------------------
    offgas_delay_s: float = param(
        30.0,
        unit="s",
        low=0,
        high=120,
        doc="off-gas analysis transport delay",
        source="est. 20–40 s",
    )
    offgas_noise_rel: float = param(
        0.04,
        unit="-",
        low=0,
        high=0.3,
        doc="relative noise of the off-gas carbon rate",
        source="est. 3–5 %",
    )
    hm_analysis_c_sd_pct: float = param(
        0.10, unit="wt%", low=0, high=0.5, doc="sd of the hot-metal C analysis", source="PHYSICS.md"
    )
    hm_analysis_si_sd_pct: float = param(
        0.03,
        unit="wt%",
        low=0,
        high=0.2,
        doc="sd of the hot-metal Si analysis",
        source="PHYSICS.md",
    )
    hm_analysis_temp_sd_c: float = param(
        5.0,
        unit="K",
        low=0,
        high=30,
        doc="sd of the hot-metal temperature reading",
        source="PHYSICS.md",
    )
    sublance_o2_frac: float = param(
        0.85,
        unit="-",
        low=0.5,
        high=0.98,
        doc="share of planned oxygen at the in-blow sub-lance",
        source="est. 0.80–0.90",
    )
    sublance_c_sd_pct: float = param(
        0.017, unit="wt%", low=0, high=0.1, doc="sd of the sub-lance carbon", source="[S18] derived"
    )
    sublance_temp_sd_c: float = param(
        8.0, unit="K", low=0, high=30, doc="sd of the sub-lance temperature", source="est. 5–12 K"
    )
    # --- operator's standard practice (fixed pattern + static charge balance) ----------------
    practice_o2_nm3_t_min: float = param(
        3.2,
        unit="Nm3/(t min)",
        low=2.0,
        high=4.5,
        doc="standard oxygen flow per t heat size",
        source="PHYSICS.md 2.5–4",
    )
    practice_lance_start_m: float = param(
        2.4,
        unit="m",
        low=1.0,
        high=3.5,
        doc="soft-blow lance height for slag formation",
        source="est.",
    )
    practice_lance_main_m: float = param(
        2.0, unit="m", low=1.0, high=3.5, doc="main-blow lance height", source="est."
    )
    practice_lance_end_m: float = param(
        1.7, unit="m", low=1.0, high=3.5, doc="hard-blow lance height near the end", source="est."
    )
    practice_basicity: float = param(
        3.5,
        unit="-",
        low=2,
        high=5,
        doc="target CaO/SiO2 of the lime charge",
        source="PHYSICS.md 3–4",
    )
    practice_lime_extra_kg_t: float = param(
        12.0,
        unit="kg/t",
        low=0,
        high=40,
        doc="lime beyond basicity (P removal, MgO)",
        source="calibrated: 45–55 kg/t",
    )
    practice_end_feo_pct: float = param(
        20.0,
        unit="wt%",
        low=5,
        high=40,
        doc="end FeO assumed by the static oxygen balance",
        source="PHYSICS.md 15–25",
    )
    practice_o2_trim: float = param(
        1.0068,
        unit="-",
        low=0.8,
        high=1.2,
        doc="static model's oxygen factor (fitted to nominal)",
        source="calibrated",
    )
    practice_ore_base_kg_t: float = param(
        5.074,
        unit="kg/t",
        low=0,
        high=60,
        doc="static model's ore at the nominal charge",
        source="calibrated to hit the aim temperature",
    )
    practice_ore_per_k: float = param(
        49.83,
        unit="kg/K",
        low=1,
        high=1000,
        doc="static model's ore per K of predicted excess heat",
        source="calibrated (finite differences)",
    )
    practice_t_per_si: float = param(
        234.7,
        unit="K/wt%",
        low=0,
        high=600,
        doc="static model: end temperature per % HM Si",
        source="calibrated on the model: +0.1 % Si = +23.5 K (rule +13…15, heat balance +13…21 K)",
    )
    practice_t_per_scrap: float = param(
        -18.36,
        unit="K/%",
        low=-40,
        high=0,
        doc="static model: end temperature per % scrap share",
        source="calibrated; rule −13…−20 K",
    )
    practice_t_per_hm_temp: float = param(
        0.94,
        unit="K/K",
        low=0,
        high=2,
        doc="static model: end temperature per K of HM temp.",
        source="calibrated",
    )
    practice_ref_c_pct: float = param(
        4.5,
        unit="wt%",
        low=3.0,
        high=5.0,
        doc="static model: reference hot-metal C (its own, fixed)",
        source="= nominal hm_c_pct",
    )
    practice_ref_si_pct: float = param(
        0.5,
        unit="wt%",
        low=0.05,
        high=1.5,
        doc="static model: reference hot-metal Si",
        source="= nominal hm_si_pct",
    )
    practice_ref_hm_temp_c: float = param(
        1350.0,
        unit="degC",
        low=1200,
        high=1500,
        doc="static model: reference hot-metal temperature",
        source="= nominal hm_temp_c",
    )
    practice_ref_scrap_pct: float = param(
        14.545454545454545,
        unit="%",
        low=0,
        high=40,
        doc="static model: reference scrap share",
        source="= nominal 40 t / 275 t",
    )
    practice_t_per_c: float = param(
        77.35,
        unit="K/wt%",
        low=0,
        high=300,
        doc="static model: end temperature per % HM C",
        source="calibrated",
    )

    # --- scoring and pricing of the tapped heat (BOF-v2; docs/physics/bof.md §7.4) -------------
    # The tap is judged on the tap sample's lab analysis and an immersion thermocouple, not on
    # the in-blow sub-lance (bof_v2_sources.md §3.4); off-grade outcomes pay a step cost per heat
    # on top of the smooth Huber miss (§4.3).
    tap_c_sd_pct: float = param(
        0.004,
        unit="wt%",
        low=0,
        high=0.05,
        doc="sd of the tap sample's carbon (spark OES / combustion lab analysis)",
        source="est. (L), pending the ASTM E415 precision table [V13]; bof_v2_sources §3.4",
    )
    tap_temp_sd_c: float = param(
        4.0,
        unit="K",
        low=0,
        high=20,
        doc="sd of the tap temperature (expendable immersion thermocouple)",
        source="[V15] IEC 60584-2 type B class 2 ±4.1 K at 1650 degC read as 1 sd (§3.4)",
    )
    offgrade_p_eur_t: float = param(
        30.0,
        unit="EUR/t",
        low=0,
        high=500,
        doc="downgrade / dephosphorisation re-blow of a heat tapped with P over spec, per t",
        source="est. (L) 20–50 EUR/t downgrade discount, structure [V19]; bof_v2_sources §4.3",
    )
    reblow_eur: float = param(
        1500.0,
        unit="EUR",
        low=0,
        high=1e5,
        doc="re-blow of a heat tapped with C above or T below its band (±0.02 wt%, ±15 K)",
        source="est. (L) 0.5–2 kEUR (O2, FeO, converter time), structure [V18]; §4.3",
    )
    recarb_eur: float = param(
        1500.0,
        unit="EUR",
        low=0,
        high=1e5,
        doc="recarburising or holding a heat tapped with C below or T above its band",
        source="est. (L) same order as a re-blow [V18]; bof_v2_sources §4.3",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hot_metal_t + self.scrap_t < self.heat_size_t:
            raise ValueError(
                f"BOFParams: hot_metal_t + scrap_t = {self.hot_metal_t + self.scrap_t} t cannot "
                f"tap heat_size_t = {self.heat_size_t} t (metallic yield would exceed 1)"
            )

    @property
    def scrap_share_pct(self) -> float:
        """Scrap share of the metallic charge, the unit of the scrap rule of thumb."""
        return 100.0 * self.scrap_t / (self.hot_metal_t + self.scrap_t)
