"""Statistics: the figures the Statistics page shows about the whole practice, counted in the background.

`counts` counts them (the registration counts: patients by portal status; new portal access per week),
`snapshots` keeps them in the one statistics snapshot row that pages read, and `charts` draws the
weekly chart.
"""
