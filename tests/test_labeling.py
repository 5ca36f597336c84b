"""Regime names come from rules on state profiles, never from state numbers."""

import numpy as np
import pandas as pd
import pytest

from regime.config import Config, RegimeRule
from regime.errors import ConfigError
from regime.labeling import assign_regimes, regime_probabilities, state_profiles

RULES = Config().regimes


def _profiles(order):
    rows = {
        "stress": {"rk_vol_21d": 2.0, "rk_drawdown": -2.0, "rs_ew_cw_mom_63d": -0.5, "rs_mega_large_mom_63d": 0.3},
        "broadening": {"rk_vol_21d": -0.3, "rk_drawdown": 0.4, "rs_ew_cw_mom_63d": 1.0, "rs_mega_large_mom_63d": -0.8},
        "concentration": {"rk_vol_21d": -0.4, "rk_drawdown": 0.5, "rs_ew_cw_mom_63d": -1.0, "rs_mega_large_mom_63d": 0.9},
    }
    return pd.DataFrame([rows[r] for r in order])


@pytest.mark.parametrize("order", [
    ["stress", "broadening", "concentration"],
    ["concentration", "stress", "broadening"],
    ["broadening", "concentration", "stress"],
])
def test_names_follow_what_states_look_like_not_their_number(order):
    mapping = assign_regimes(_profiles(order), RULES)
    assert mapping == dict(enumerate(order))


def test_extra_states_join_their_best_regime():
    prof = pd.concat([_profiles(["stress", "broadening", "concentration"]),
                      pd.DataFrame([{"rk_vol_21d": 3.0, "rk_drawdown": -3.0, "rs_ew_cw_mom_63d": 0.0,
                                     "rs_mega_large_mom_63d": 0.0}])], ignore_index=True)
    mapping = assign_regimes(prof, RULES)
    assert mapping[3] == "stress"
    assert sorted(set(mapping.values())) == ["broadening", "concentration", "stress"]


def test_rule_with_no_available_feature_is_an_error():
    rules = dict(RULES)
    rules["melt_up"] = RegimeRule(name="Melt-up", weights={"no_such_feature": 1.0})
    with pytest.raises(ConfigError, match=r"regime 'melt_up': none of its rule features \(no_such_feature\)"):
        assign_regimes(_profiles(["stress", "broadening", "concentration"]), rules)


def test_state_profiles_weight_by_probability():
    z = pd.DataFrame({"f": [1.0, 3.0, 5.0]})
    p = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    prof = state_profiles(z, p)
    assert prof.loc[0, "f"] == pytest.approx((1 + 1.5) / 1.5)
    assert prof.loc[1, "f"] == pytest.approx((1.5 + 5) / 1.5)


def test_regime_probabilities_sum_states():
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    out = regime_probabilities(p, {0: "a", 1: "b", 2: "a"}, ["a", "b", "c"], pd.RangeIndex(2))
    np.testing.assert_allclose(out.to_numpy(), [[0.7, 0.3, 0.0], [0.9, 0.1, 0.0]])
