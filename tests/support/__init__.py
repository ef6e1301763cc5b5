"""Test helpers: a throwaway PostgreSQL cluster, service processes, free ports."""
