"""How `make bench` orders its requests and judges its figures (bench/targets.py), without a run."""

from collections import Counter

from bench.targets import (
    BARE,
    FLOOR,
    FLOOR_TO_BARE,
    RATIO_TARGETS,
    SERVER_FLOOR_SHARE,
    judge,
    judge_server,
    round_orders,
)

NAMES = list(RATIO_TARGETS)


def test_each_round_requests_every_page_once():
    for order in round_orders(NAMES, rounds=40, seed=1):
        assert sorted(order) == sorted(NAMES)


def test_the_floor_follows_a_different_page_from_round_to_round():
    """A fixed order timed the floor right after the snapshot task every round."""
    orders = round_orders(NAMES, rounds=40, seed=1)
    before_floor = Counter(order[order.index(FLOOR) - 1] for order in orders if order[0] != FLOOR)
    assert len(before_floor) >= len(NAMES) // 2
    assert max(before_floor.values()) <= 8  # 40 rounds: no page is the floor's neighbour most of the time


def test_a_seed_repeats_its_orders_and_another_seed_does_not():
    assert round_orders(NAMES, rounds=5, seed=7) == round_orders(NAMES, rounds=5, seed=7)
    assert round_orders(NAMES, rounds=5, seed=7) != round_orders(NAMES, rounds=5, seed=8)


def _row(name, median_ms, floor_ms, patients=10_000, queries=2):
    return {
        "name": name,
        "patients": patients,
        "queries": queries,
        "median_ms": median_ms,
        "ratio_to_floor": round(median_ms / floor_ms, 2),
    }


def test_a_floor_over_ten_bare_views_is_a_miss_on_the_bare_view_row():
    rows = [_row(BARE, 0.3, 4.0, queries=0), _row(FLOOR, 4.0, 4.0), _row("statistics", 8.0, 4.0)]

    failures = judge(rows, 10_000, 10_000)

    assert failures == [f"floor at 10,000: 13.3x a bare Django view > {FLOOR_TO_BARE}x"]
    assert rows[0]["floor_to_bare"] == 13.3
    assert not rows[0]["ratio_ok"]
    assert rows[1]["ratio_ok"] and rows[2]["ratio_ok"]


def test_a_floor_within_ten_bare_views_is_met():
    rows = [_row(BARE, 0.5, 4.0, queries=0), _row(FLOOR, 4.0, 4.0)]

    assert judge(rows, 10_000, 10_000) == []
    assert rows[0]["floor_to_bare"] == 8.0


def test_growth_leaves_out_the_floor_and_the_bare_view():
    rows = [
        *(_row(n, ms, 4.0) for n, ms in ((BARE, 0.5), (FLOOR, 4.0), ("statistics", 8.0))),
        *(_row(n, ms, 8.0, patients=100_000) for n, ms in ((BARE, 0.5), (FLOOR, 8.0), ("statistics", 24.0))),
    ]

    failures = judge(rows, 10_000, 100_000)

    assert [row.get("growth") for row in rows] == [None, None, None, None, None, 1.5]
    assert failures == [
        "floor at 100,000: 16.0x a bare Django view > 10x",
        "statistics: 1.5x slower at 100,000 than at 10,000 (> 1.3x)",
    ]


def test_under_a_server_each_page_is_judged_in_floors_and_the_floor_against_the_bare_view():
    rows, failures = judge_server(
        {BARE: 4000.0, FLOOR: 1200.0, "statistics": 100.0, "search: name fragment": 150.0}
    )

    assert {row["name"]: row["x_floor"] for row in rows} == {
        BARE: 0.3,
        FLOOR: 1.0,
        "statistics": 12.0,
        "search: name fragment": 8.0,
    }
    assert [row["ok"] for row in rows] == [True, True, True, False]
    assert failures == ["search: name fragment: 150 req/s, 8.0x the floor's cost (> 6x)"]


def test_under_a_server_a_floor_below_a_quarter_of_the_bare_view_is_a_miss():
    rows, failures = judge_server({BARE: 5000.0, FLOOR: 450.0})

    assert not rows[0]["ok"]
    assert failures == [f"floor: 450 req/s, 0.09 of the bare view's 5000 (< {SERVER_FLOOR_SHARE})"]
