"""Language models shared by mining and training: the bundled models and their loading, prompts,
and the shared-prefix log-likelihood scorer (with its lm-eval-style reference)."""
