"""The targets `make bench` and `make bench-server` judge a run against (issues 6 and 17), and the order
pages are timed in. Plain Python without Django, so the tests import it as it is.
"""

import random

FLOOR = "floor"
BARE = "bare view"  # Django alone: a view answering "ok", no middleware
BARE_MIDDLEWARE = "bare view + middleware"  # the same view through all of the site's middleware
# Timed like pages, but not pages: no query budget, no growth check.
NOT_PAGES = ("snapshot task (background)", "PIN redemption (parent)")

# Median at most this many times the floor's; None: reported, no target (see the issue).
RATIO_TARGETS = {
    BARE: None,  # judged the other way round: FLOOR_TO_BARE
    BARE_MIDDLEWARE: None,  # reported: what the middleware add, the rest of the floor is the session and user
    FLOOR: None,
    "dashboard (busy day)": 20,
    "statistics": 15,
    "search: name fragment": 6,
    "search: two fragments": 6,
    "search: date of birth": 6,
    "search: phone": 6,
    "patients: registered": 6,
    "patients: pending": 6,
    "patients: PIN expired": 6,
    "patients: all": 6,
    "request queue": 6,
    "patient chart": 6,
    "appointment window": 6,
    "reconcile": 12,
    "duplicate accounts": 12,
    "audit trail (one patient)": 12,
    "PIN redemption (parent)": None,  # two Argon2 hashes (~130 ms) by design
    "snapshot task (background)": None,  # not a page: the task worker, once a minute at most
}
MAX_QUERIES = 8  # every staff page, session and user included
# Median at the largest size over the median at the smallest, each as a ratio to its own run's floor:
# the two sizes run minutes apart, and this machine's speed drifts by more than 30% over minutes.
MAX_GROWTH = 1.3
# In-process, the floor's median at most this many times the bare view's (issue 17).
FLOOR_TO_BARE = 10
# Under gunicorn, the floor serves at least this share of the bare view's requests a second (issue 17).
SERVER_FLOOR_SHARE = 0.25


def round_orders(names: list[str], rounds: int, seed: int) -> list[list[str]]:
    """Return one order of `names` per round, each shuffled anew.

    A fixed order timed the floor right after the snapshot task every round, which slowed it by 15-20%
    and so understated every ratio. Shuffled, whatever a page leaves behind (a cold cache, a garbage
    collection) falls on a different page each round. The seed makes a run's order repeatable.
    """
    rng = random.Random(seed)  # noqa: S311 - an order, not a secret
    orders = []
    for _ in range(rounds):
        order = list(names)
        rng.shuffle(order)
        orders.append(order)
    return orders


def judge(rows: list[dict], small: int, large: int) -> list[str]:
    """Mark each in-process row against its targets (in place) and return the misses, in words."""
    failures = []
    by_key = {(row["name"], row["patients"]): row for row in rows}
    for row in rows:
        name, size = row["name"], row["patients"]
        target = RATIO_TARGETS.get(name)
        row["ratio_target"] = target
        row["ratio_ok"] = target is None or row["ratio_to_floor"] <= target
        row["queries_ok"] = name in NOT_PAGES or row["queries"] <= MAX_QUERIES
        if not row["ratio_ok"]:
            failures.append(f"{name} at {size:,}: {row['ratio_to_floor']}x the floor > {target}x")
        if not row["queries_ok"]:
            failures.append(f"{name} at {size:,}: {row['queries']} queries > {MAX_QUERIES}")
        if not row.get("plan_ok", True):
            plan = " + ".join(row["plan"]) + " (generic: " + " + ".join(row.get("generic_plan", [])) + ")"
            failures.append(f"{name} at {size:,}: planned as {plan}, not through the trigram index alone")
        if name == BARE and (FLOOR, size) in by_key:
            floor_to_bare = by_key[(FLOOR, size)]["median_ms"] / row["median_ms"]
            row["floor_to_bare"] = round(floor_to_bare, 1)
            row["ratio_ok"] = floor_to_bare <= FLOOR_TO_BARE
            if not row["ratio_ok"]:
                failures.append(
                    f"floor at {size:,}: {row['floor_to_bare']}x a bare Django view > {FLOOR_TO_BARE}x"
                )
        if size == large and small != large and name not in (*NOT_PAGES, FLOOR, BARE, BARE_MIDDLEWARE):
            before = by_key[(name, small)]
            row["growth"] = round(row["ratio_to_floor"] / before["ratio_to_floor"], 2)
            row["growth_raw"] = round(row["median_ms"] / before["median_ms"], 2)
            if row["growth"] > MAX_GROWTH:
                failures.append(
                    f"{name}: {row['growth']}x slower at {large:,} than at {small:,} (> {MAX_GROWTH}x)"
                )
    return failures


def judge_server(rps: dict[str, float]) -> tuple[list[dict], list[str]]:
    """Rows of requests a second under gunicorn, each against its in-process target, and the misses.

    A page's `x_floor` is the floor's requests a second over its own: how many floors it costs, the
    figure its in-process target bounds. For the bare view it is the floor's share of its rate.
    """
    floor = rps[FLOOR]
    rows, failures = [], []
    for name, rate in rps.items():
        x_floor = floor / rate
        target = SERVER_FLOOR_SHARE if name == BARE else RATIO_TARGETS.get(name)
        if name == BARE:
            ok = x_floor >= target
            miss = f"floor: {floor:.0f} req/s, {x_floor:.2f} of the bare view's {rate:.0f} (< {target})"
        else:
            ok = target is None or x_floor <= target
            miss = f"{name}: {rate:.0f} req/s, {x_floor:.1f}x the floor's cost (> {target}x)"
        rows.append({"name": name, "rps": rate, "x_floor": round(x_floor, 2), "target": target, "ok": ok})
        if not ok:
            failures.append(miss)
    return rows, failures
