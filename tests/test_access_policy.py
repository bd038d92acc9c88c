"""The practice's access policy: presets with their sources, overrides from the environment, birthdays."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from registration.access_policy import (
    PRESETS,
    access_policy,
    age_on,
    birthday,
    born_by,
    is_adult_on,
    is_teen_on,
)
from registration.checks import access_policy_check
from registration.models import AccessLevel


def test_every_preset_names_its_legal_source_and_is_consistent():
    for name, policy in PRESETS.items():
        assert policy.name == name
        assert "§" in policy.source or "Code" in policy.source or "MCL" in policy.source, name
        assert policy.teen_age is None or 0 < policy.teen_age < policy.majority_age
        assert policy.teen_own_account is (policy.teen_age is not None)
    assert (PRESETS["OH"].teen_age, PRESETS["ID"].teen_age, PRESETS["MS"].majority_age) == (13, None, 21)


def test_the_default_and_a_preset_chosen_in_settings(settings):
    settings.ACCESS_POLICY_OVERRIDES = {}
    assert access_policy() == PRESETS["default"]
    settings.ACCESS_POLICY = "OH"
    assert access_policy().teen_age == 13


def test_this_practices_overrides_change_single_values(settings):
    settings.ACCESS_POLICY = "CA"
    settings.ACCESS_POLICY_OVERRIDES = {
        "teen_age": "13",
        "parent_level_for_teens": "none",
        "teen_own_account": "no",
    }
    policy = access_policy()
    assert (policy.teen_age, policy.parent_level_for_teens, policy.teen_own_account) == (
        13,
        AccessLevel.NONE,
        False,
    )
    assert policy.majority_age == 18 and policy.name == "CA with this practice's overrides"
    settings.ACCESS_POLICY_OVERRIDES = {"teen_age": "none"}
    assert access_policy().teen_age is None


@pytest.mark.parametrize(
    ("preset", "overrides", "complaint"),
    [
        ("TX-ish", {}, "is not one of"),
        ("default", {"teen_age": "twelve"}, "whole number"),
        ("default", {"teen_age": "18"}, "between 1 and"),
        ("default", {"parent_level_for_teens": "partial"}, "must be one of"),
        ("default", {"teen_own_account": "maybe"}, "true or false"),
    ],
)
def test_a_mistyped_policy_stops_the_app_with_a_clear_message(settings, preset, overrides, complaint):
    settings.ACCESS_POLICY, settings.ACCESS_POLICY_OVERRIDES = preset, overrides
    with pytest.raises(ImproperlyConfigured, match=complaint):
        access_policy()
    (error,) = access_policy_check(None)
    assert error.id == "registration.E005" and complaint in error.msg


def test_birthdays_including_the_29th_of_february():
    leap = dt.date(2012, 2, 29)
    assert birthday(leap, 12) == dt.date(2024, 2, 29)
    assert birthday(leap, 18) == dt.date(2030, 3, 1), "a common year: the day after 28 February"
    assert age_on(leap, dt.date(2030, 2, 28)) == 17 and age_on(leap, dt.date(2030, 3, 1)) == 18
    assert born_by(dt.date(2030, 2, 28), 18) == dt.date(2012, 2, 28)
    assert born_by(dt.date(2028, 2, 29), 18) == dt.date(2010, 2, 28)


def test_born_by_agrees_with_age_on_for_every_day_around_leap_years():
    days = [dt.date(2030, 2, 28), dt.date(2030, 3, 1), dt.date(2028, 2, 29), dt.date(2028, 2, 28)]
    for offset in range(0, 2000, 3):
        born = dt.date(2008, 1, 1) + dt.timedelta(days=offset)
        for day in days:
            for years in (12, 13, 18, 21):
                assert (age_on(born, day) >= years) == (born <= born_by(day, years)), (born, day, years)


def test_teen_and_adult_years_follow_the_policy():
    policy = PRESETS["default"]
    born = dt.date(2014, 6, 15)
    assert not is_teen_on(born, dt.date(2026, 6, 14), policy)
    assert is_teen_on(born, dt.date(2026, 6, 15), policy)
    assert not is_adult_on(born, dt.date(2032, 6, 14), policy) and is_adult_on(
        born, dt.date(2032, 6, 15), policy
    )
    assert not is_teen_on(born, dt.date(2032, 6, 15), policy), "an adult is no longer a teen"
    assert not is_teen_on(born, dt.date(2027, 1, 1), PRESETS["ID"]), "Idaho has no teen years"
