"""Training methods (Likra, SFT, NAT, DPO) and learning curves over negative sets."""
