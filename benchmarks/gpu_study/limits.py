"""The lent GPU machine's limits, in one place: what travels to it and how long it may run.

Source: the Limits table of the device tool's README (read 2026-12-04): the working tree and the carried
paths travel up to 64 MiB in all, one command runs at most 10 minutes, and a task has 15 minutes of device
time in all, every machine start (minutes) counted in. The packer fills what the carry limit leaves; the
study's budget and gpu_study.sh's `timeout` come from the call limit. Change them here when the README does.
"""

CARRY_LIMIT_MIB = 64.0  # working tree + carried paths
CALL_LIMIT_S = 600  # one command's run
TASK_LIMIT_S = 900  # device time of a whole task: starts, idle waits and every call together

CARRY_SLACK_MIB = 1.0  # left free under CARRY_LIMIT_MIB, so that the tree can grow after `prepare`
STOP_S = CALL_LIMIT_S - 10  # gpu_study.sh's `timeout`: 10 s left to archive what was measured
BUDGET_S = CALL_LIMIT_S - 40  # the study's deadline: the wheels' install, start-up and the archive come off the call
