"""nearmiss: curate near-miss negatives for LLM training. One folder per stage: store, lm, load,
mine, label, auth, export, train, jobs; cli and app are thin faces over them."""
