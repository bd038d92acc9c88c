"""The practice's policy for adolescents and young adults: at what age parents see less, and when they stop.

A preset names the law it follows; `settings.ACCESS_POLICY` picks one and `ACCESS_POLICY_OVERRIDES` (from
the environment) changes single values for this practice. The sources are given so the practice's
privacy officer can check them against the law of the day: this module is not legal advice.
"""

from dataclasses import dataclass, replace
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from registration.models import AccessLevel


@dataclass(frozen=True)
class AccessPolicy:
    name: str
    # The age at which parents' access narrows to `parent_level_for_teens`; None: no teen years.
    teen_age: int | None
    parent_level_for_teens: AccessLevel
    teen_own_account: bool  # staff may issue the patient their own PIN from `teen_age`
    teen_chooses_parent_level: bool  # the patient may widen or narrow what parents see
    # From this age every parent's access ends, unless a guardianship or the adult's consent keeps it.
    majority_age: int
    source: str


_ADOLESCENT_CARE = (
    "Adolescents can consent alone to some care from 12 (Cal. Family Code §6924 mental health, §6926 "
    "sexually transmitted infections), and parents may not read the records of care a minor could consent "
    "to (Cal. Health & Safety Code §123110(a), §123115(a)(1)). The Society for Adolescent Health and "
    "Medicine's position paper (J Adolesc Health 2014;54:491) asks portals for adolescent-specific proxy "
    "access for the same reason."
)

PRESETS = {
    "default": AccessPolicy(
        name="default",
        teen_age=12,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=18,
        source="The common practice of US health systems' portals, following California's rules: "
        + _ADOLESCENT_CARE,
    ),
    "CA": AccessPolicy(
        name="CA",
        teen_age=12,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=18,
        source=_ADOLESCENT_CARE + " Majority at 18: Cal. Family Code §6500.",
    ),
    "MI": AccessPolicy(
        name="MI",
        teen_age=12,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=18,
        source="Minors consent alone to treatment for sexually transmitted infections (MCL 333.5127) and, "
        "from 14, to outpatient mental health care (MCL 330.1707); Michigan health systems narrow proxy "
        "access at 12. Majority at 18: MCL 722.52.",
    ),
    "OH": AccessPolicy(
        name="OH",
        teen_age=13,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=18,
        source="Minors from 14 consent alone to outpatient mental health care (Ohio Rev. Code 5122.04); "
        "Ohio health systems narrow proxy access at 13. Majority at 18: Ohio Rev. Code 3109.01.",
    ),
    "ID": AccessPolicy(
        name="ID",
        teen_age=None,
        parent_level_for_teens=AccessLevel.FULL,
        teen_own_account=False,
        teen_chooses_parent_level=False,
        majority_age=18,
        source="Parents have the right to their minor child's health records (Idaho Code §32-1015, 2024): "
        "no teen years. Majority at 18: Idaho Code §32-101.",
    ),
    "AL": AccessPolicy(
        name="AL",
        teen_age=14,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=19,
        source="Minors from 14 consent alone to medical care (Ala. Code §22-8-4). Majority at 19: Ala. Code "
        "§26-1-1.",
    ),
    "NE": AccessPolicy(
        name="NE",
        teen_age=12,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=19,
        source="The default's adolescent rules. Majority at 19: Neb. Rev. Stat. §43-2101.",
    ),
    "MS": AccessPolicy(
        name="MS",
        teen_age=12,
        parent_level_for_teens=AccessLevel.LIMITED,
        teen_own_account=True,
        teen_chooses_parent_level=True,
        majority_age=21,
        source="The default's adolescent rules. Majority at 21: Miss. Code §1-3-27.",
    ),
}

_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def access_policy() -> AccessPolicy:
    """The policy in force: the preset `settings.ACCESS_POLICY` with this practice's overrides."""
    try:
        policy = PRESETS[settings.ACCESS_POLICY]
    except KeyError:
        raise ImproperlyConfigured(
            f"ACCESS_POLICY {settings.ACCESS_POLICY!r} is not one of {', '.join(PRESETS)}."
        ) from None
    overrides = {}
    for key, raw in settings.ACCESS_POLICY_OVERRIDES.items():
        overrides[key] = _override(key, str(raw).strip())
    if not overrides:
        return policy
    policy = replace(policy, **overrides, name=f"{policy.name} with this practice's overrides")
    if policy.teen_age is not None and not 0 < policy.teen_age < policy.majority_age:
        raise ImproperlyConfigured("ACCESS_TEEN_AGE must be between 1 and ACCESS_MAJORITY_AGE.")
    return policy


def _override(key: str, raw: str):
    if key == "teen_age" and raw.lower() == "none":
        return None
    if key in ("teen_age", "majority_age"):
        if not raw.isdigit():
            raise ImproperlyConfigured(f"The access policy's {key} must be a whole number, not {raw!r}.")
        return int(raw)
    if key == "parent_level_for_teens":
        if raw not in AccessLevel.values:
            raise ImproperlyConfigured(f"ACCESS_PARENT_LEVEL_FOR_TEENS must be one of {AccessLevel.values}.")
        return AccessLevel(raw)
    if raw.lower() not in _BOOLEANS:
        raise ImproperlyConfigured(f"The access policy's {key} must be true or false, not {raw!r}.")
    return _BOOLEANS[raw.lower()]


def birthday(date_of_birth: date, years: int) -> date:
    """The day a person born on `date_of_birth` turns `years` old. Someone born on 29 February turns a
    year older on 1 March in common years: the day after the last day of the year of age."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:  # 29 February in a common year
        return date(date_of_birth.year + years, 3, 1)


def age_on(date_of_birth: date, day: date) -> int:
    years = day.year - date_of_birth.year
    return years if birthday(date_of_birth, years) <= day else years - 1


def is_teen_on(date_of_birth: date, day: date, policy: AccessPolicy) -> bool:
    return policy.teen_age is not None and policy.teen_age <= age_on(date_of_birth, day) < policy.majority_age


def is_adult_on(date_of_birth: date, day: date, policy: AccessPolicy) -> bool:
    return age_on(date_of_birth, day) >= policy.majority_age


def born_by(day: date, years: int) -> date:
    """The latest date of birth of someone at least `years` old on `day`, to filter on date_of_birth."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # `day` is 29 February: someone born on 29 February is not `years` old yet
        return date(day.year - years, 2, 28)
