"""Register all: a welcome message to every patient of a day's appointment list who can get one.

1. The dashboard's button shows how many qualify (`selectors.register_all_plan`); staff open the
   confirmation page, which lists who gets what by which channel, and who is skipped and why.
2. Confirming records a run (`services.register_all_start`) and queues it for the task worker. One run
   per day at a time: a second Register all of the same day while one runs would send twice.
3. The worker issues each patient's welcome message through `welcome_invite`, one patient at a time,
   writing how far it got (`tasks.run_register_all`); staff watch the progress page, then the summary.

Task arguments hold only the run's id.
"""
