"""Benchmarks for relief-supply, run as ``python -m bench <name>``.

They live outside the test suite on purpose: they build ledgers of hundreds of thousands of
rows and take minutes, which no test run should pay, yet the figures they print are what
tells whether the ledger is fit for a provincial network (a thousand depots posting at
once after a disaster). Each benchmark prints a table for people and a JSON object for
machines, so results can be compared across commits and databases.
"""
