"""Demo data for the `seed_demo` command: a deterministic, realistic US pediatric practice.

`families` describes who is in the practice (made up from a fixed seed, so every run describes the
same people), `records` writes the EHR's rows for them, `showcase` puts the first families' portal
state through the registration services, `bulk` writes the rest directly for speed, and `schedule`
fills today's and tomorrow's clinic.
"""
