"""hubbub's benchmarks: ``./benchmarks/run`` or ``python -m benchmarks``.

Nothing is imported here: the server apps under benchmarks/servers are also
imported by the peers' own venv, which has no hubbub in it.
"""
