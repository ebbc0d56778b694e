"""Runs as jobs: launching a run's detached worker (mining, training), working on a run in this
process (loads, exports: ``inline``), run owners and heartbeats (who holds a dataset's mining lock,
which runs' processes died), progress reports, and claim, cancel, list."""
