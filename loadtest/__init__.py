"""A bounded load test on 127.0.0.1: `python loadtest/run.py --seconds 60 --users 20` (or `make loadtest`)."""
