"""Detached runs: the mining worker, the training launcher, and run owners (who holds a
dataset's mining lock, which runs' processes died)."""
