"""Drawing made-up data: reproducible generators and weighted choices."""

from bisect import bisect
from itertools import accumulate
from random import Random

SEED = "maple-street-pediatrics-demo-1"


def seeded(*key: object) -> Random:
    """A generator of made-up data, the same for the same key on every run. Never for secrets."""
    return Random(":".join(map(str, (SEED, *key))))  # noqa: S311 - demo data, not security


class Weighted[T]:
    """Options drawn by weight. `Random.choices` rebuilds its table on every call; this builds it once."""

    def __init__(self, weights: dict[T, float]):
        self.options = tuple(weights)
        self.cumulative = tuple(accumulate(weights.values()))

    def draw(self, rng: Random) -> T:
        return self.options[bisect(self.cumulative, rng.random() * self.cumulative[-1])]
