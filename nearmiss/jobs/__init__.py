"""Detached runs: launching a run's worker, run owners (who holds a dataset's mining lock,
which runs' processes died), and runs as jobs (claim, cancel, list)."""
