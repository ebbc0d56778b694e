"""Labeling: label rows, final labels, the work queue, the desk behind the Label page,
agreement, progress, guidelines, history, the ranker."""
