"""Helpers shared by the tests, one module per topic, imported by name (never from a conftest.py):

apps          each service's app started in process (the fuzzing and hostile-input suites)
browser       one way to launch Chromium (Playwright) and open a page
clock         the session's instant (DAILYML_TEST_CLOCK) and crons derived from it
credentials   the admin token, its headers and the artifact key of every test store
databases     bootstrapped SQLite/PostgreSQL stores, copied per test (the root conftest's fixtures)
examples      valid request bodies: each spec's example row
generator     quick fits in process, a generator process that starts quickly
load          client threads posting predictions, and what the store kept of them
net           free ports, waiting for an HTTP answer
observability /metrics parsed as Prometheus does, JSON log lines
postgres      a throwaway PostgreSQL cluster (initdb, pg_ctl), outages on demand
processes     services as real processes (``dailyml serve``, ``dailyml up``)
requirements  what the suite needs from the machine; the NOT RUN account
schemathesis_hooks  cross-field rules schemathesis cannot read from a schema
scheduling    in-process scheduler runners on a hand-moved clock, scheduler process environments
seeding       monitoring data put in a store over the predictor's API
switch        a TCP forwarder that can be turned off (a service or database outage)
waiting       wait_until: the one way the tests wait
"""
