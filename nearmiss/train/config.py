"""The one configuration of a training / learning-curve run, with help text per field.

CLI flags and the Train page take their help from ``nearmiss.settings.help_of``, so the text lives here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from nearmiss.errors import ConfigError
from nearmiss.lm.models import DEFAULT_LM, DTYPES, auto_dtype
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.registry import Registry
from nearmiss.settings import build, check_choices, setting
from nearmiss.store.schema import ORIGINS
from nearmiss.train.decide import budget_seconds, check_targets
from nearmiss.train.methods import METHODS
from nearmiss.train.negatives import NEGATIVE_SETS
from nearmiss.train.stats import FIRST_LOOK, SPENDING

# Presets of training settings (``--recipe``); a setting given explicitly wins over its recipe.
RECIPES: Registry[dict[str, Any]] = Registry("recipe", {
    "default": {},
    # github.com/Shamdan17/likra (hydratrain.py, Makefile): LoRA r=8, alpha=8 on the MLP projections,
    # one epoch, constant learning rate, batch 32 (8 on CPU here: the default train_batch).
    "likra-paper": {"lora_r": 8, "lora_alpha": 8, "lora_targets": "gate_proj,up_proj,down_proj", "epochs": 1,
                    "min_steps": 1, "lr_schedule": "constant"},
})

SCHEDULES = Registry.of_names("schedule", ("linear", "constant"))
RANKINGS = Registry.of_names("ranking", ("sum", "char"))
TOGETHER = Registry.of_names("heads_together choice", ("auto", "yes", "no"))


@dataclass
class TrainConfig:
    """What to train, on what, and how; every learning-curve run stores one as JSON."""

    # data
    dataset: str = setting("arc-easy", "Dataset name in the store (its items are trained on and evaluated).")
    train_split: str = setting("test", "Split whose items are trained on.")
    eval_split: list[str] = setting(["validation"], "Held-out split(s) evaluated after each size (disjoint items); "
                                                    "several (e.g. validation,test when training on train) pool "
                                                    "their items, so the items rather than the seeds carry the "
                                                    "power.")
    eval_limit: int | None = setting(None, "Evaluate on the first N held-out items in a fixed shuffled order, the "
                                           "same for every seed (default all).")
    methods: list[str] = setting(
        ["likra", "sft", "nat", "dpo"], "Training methods: likra (a head trained on the gold answers and one on "
        "the negatives, scored together with weight w), likra_neg (the negative head alone, the base model as the positive), sft (fine-tuning on "
        "the gold answers), nat (gold and negatives after a correct / incorrect marker line), dpo (the gold answer "
        "preferred over each negative).", METHODS)
    negatives: list[str] = setting(
        ["distractor"], "Negative sets (one wrong answer per item, the same items in the same order for every set): "
        "hardest / easiest (the own wrong choice the base LM scores highest / lowest: the Likra paper's near / far "
        "miss), mined / mined_far (the stored candidate of highest / lowest nearness, never possibly-correct or "
        "labeled correct / invalid; mine the dataset first), near / far (labeled in the store), failed (trajectories "
        "judged failed by their outcome, unless a person labeled them otherwise), distractor (a random own wrong "
        "choice), unrelated (another item's correct answer).", NEGATIVE_SETS)
    sizes: list[int] = setting([0, 16, 32, 64, 128], "Training set sizes of the curve (examples per head); 0 = "
                                                     "zero-shot.")
    seeds: list[int] = setting([0], "Seeds: each curve is trained once per seed (item order, negative picks, adapter "
                                    "init, batch order); intervals resample eval items and seeds.")
    recipe: str = setting("default", "Preset of training settings: default, or likra-paper (LoRA r=8, alpha=8 on the "
                                     "MLP projections, one epoch, constant lr, as the Likra code). Explicit settings "
                                     "win.", RECIPES)
    hardest_by: str = setting("sum", "hardest / easiest: rank own wrong choices by the base LM's summed "
                                     "log-likelihood (sum, the Likra paper's) or per character (char).", RANKINGS)
    mined_origins: list[str] = setting(["distractor", "neighbour", "lm_sample"],
                                       "mined / mined_far: candidate origins (pools) to pick from.", ORIGINS)
    mined_nearness_min: float = setting(0.0, "mined / mined_far: lowest nearness allowed.")
    mined_nearness_max: float = setting(1.0, "mined / mined_far: highest nearness allowed.")
    # model and LoRA
    lm: str = setting(DEFAULT_LM, "Base causal LM: bundled name, hub id org/name or local HF folder.")
    dtype: str = setting("auto", "Base weights dtype: auto (bfloat16 on CUDA; on a CPU the format whose matmuls "
                                 "it runs faster, measured at start), bfloat16 or float32. LoRA weights train in "
                                 "float32.", DTYPES)
    lora_r: int = setting(16, "LoRA rank.")
    lora_alpha: int = setting(32, "LoRA alpha (scale = alpha / r).")
    lora_dropout: float = setting(0.0, "LoRA dropout.")
    lora_targets: str = setting("all-linear", "Modules that get LoRA: all-linear, or a comma list of module names "
                                              "(e.g. gate_proj,up_proj,down_proj).")
    threads: int | None = setting(None, "CPU threads for torch (default: the cores not busy with other jobs, checked "
                                        "before each head; oversubscribed threads were several times slower).")
    # optimisation
    lr: float = setting(1e-3, "AdamW learning rate of the LoRA weights.")
    lr_schedule: str = setting("linear", "Learning-rate schedule: linear (decay to 0) or constant.", SCHEDULES)
    epochs: int = setting(4, "Passes over the n examples of each head.")
    min_steps: int = setting(8, "At least this many optimizer steps per head, so the smallest sizes still train.")
    batch_size: int | None = setting(None, "Training batch (default 8 on CPU, 32 on CUDA).")
    eval_batch_tokens: int | None = setting(None, "Positions per scoring forward (default: the scorer's, 2048 on CPU, "
                                                  "16384 on CUDA).")
    max_length: int = setting(256, "Longest training sequence in tokens (longer examples are dropped and counted).")
    heads_together: str = setting("auto", "Train and score a point's maximum-likelihood heads in one grouped pass "
                                          "(yes), one by one (no), or auto: together on CUDA, one by one on a CPU, "
                                          "where the grouped pass measured slower (bench/train_step.py).", TOGETHER)
    # methods
    likra_w: float | str = setting("auto", "Likra: weight w of the negative head in L+ - w*L-; auto picks it per "
                                           "point from w_grid by accuracy on a dev slice of the training split "
                                           "(ties: smaller w).")
    w_grid: list[float] = setting([0, 0.125, 0.25, 0.5, 0.75, 1, 1.5, 2], "Likra w=auto: the values tried.")
    dev_fraction: float = setting(0.1, "Likra w=auto: share of the training split held out as the dev slice ...")
    dev_max: int = setting(200, "... at most this many items (never trained on at any size, never evaluated on).")
    nat_correct: str = setting(NAT_CORRECT, "NAT: marker line before a correct example (and at evaluation).")
    nat_incorrect: str = setting(NAT_INCORRECT, "NAT: marker line before an incorrect example.")
    dpo_beta: float = setting(0.1, "DPO: beta (strength of the pull towards the base model).")
    # reporting
    low_data_max: int = setting(64, "Gain per example is the best (acc(n) - acc(0)) / n over sizes n up to this "
                                    "size.")
    bootstrap: int = setting(2000, "Bootstrap resamples (eval items x seeds) for the 95% intervals.")
    # deciding (nearmiss.train.decide; the rule: nearmiss.train.stats)
    decide: list[str] = setting([], "Comparisons to decide, each a-b with a = method/negatives and b another curve "
                                    "or a method on a's set, optionally @size (default: gain per example), e.g. "
                                    "likra/hardest-likra/distractor or likra/hardest-sft@64; all = every comparison "
                                    "the run states (each set against distractor, each method against SFT). Seeds "
                                    "are added after the given ones until each is decided, max_seeds or budget.")
    equivalence: float = setting(0.0, "Decide: a comparison whose interval lies inside ±this accuracy is equivalent "
                                      "(gain per example: ±this / low_data_max); 0 = only decide a side.")
    budget: str | None = setting(None, "Decide: time budget of the run (30m, 2h, 1h30m, 90s); a seed is not started "
                                       "when the last seed's time would overrun it.")
    max_seeds: int = setting(10, "Decide: at most this many seeds (the planned looks are after seeds 2 .. max_seeds).")
    spending: str = setting("obrien-fleming", "Decide: alpha spending over the looks: obrien-fleming (strict early, "
                                              "near 1.96 at the end) or pocock (even).", SPENDING)
    out_dir: str | None = setting(None, "Where adapters are saved: <out_dir>/run-<id>/<adapter>/ (default: runs/ "
                                        "beside a SQLite store's file, else ~/.cache/nearmiss/runs).")

    def __post_init__(self) -> None:
        if isinstance(self.eval_split, str):  # one split, as runs stored before eval_split was a list
            self.eval_split = [self.eval_split]
        check_choices(self)
        for name, allowed in (("methods", METHODS), ("negatives", NEGATIVE_SETS)):
            if not getattr(self, name):
                raise ConfigError(f"{name}: give at least one of {', '.join(allowed)}")
        if not self.sizes or any(s < 0 for s in self.sizes) or sorted(set(self.sizes)) != list(self.sizes):
            raise ConfigError(f"sizes: give increasing, distinct, non-negative numbers, got {self.sizes}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds: give distinct seeds, got {self.seeds}")
        tokens = self.eval_batch_tokens
        if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1):
            raise ConfigError(f"eval_batch_tokens: a whole number of positions >= 1, got {tokens!r}")
        if self.likra_w != "auto" and (isinstance(self.likra_w, bool) or not isinstance(self.likra_w, (int, float))):
            raise ConfigError(f"likra_w: a number or auto, got {self.likra_w!r}")
        if not self.w_grid:
            raise ConfigError("w_grid: give at least one value")
        if not 0 < self.dev_fraction < 1 or self.dev_max < 1:
            raise ConfigError(f"dev_fraction / dev_max: need 0 < fraction < 1 and max >= 1, got "
                              f"{self.dev_fraction} / {self.dev_max}")
        if not 0 <= self.mined_nearness_min <= self.mined_nearness_max <= 1:
            raise ConfigError(f"mined_nearness_min / max: need 0 <= min <= max <= 1, got "
                              f"{self.mined_nearness_min} / {self.mined_nearness_max}")
        if self.bootstrap < 100:
            raise ConfigError(f"bootstrap: at least 100 resamples, got {self.bootstrap}")
        if not self.eval_split or len(set(self.eval_split)) != len(self.eval_split):
            raise ConfigError(f"eval_split: give distinct splits, got {self.eval_split}")
        if self.train_split in self.eval_split and self.eval_limit is None:
            raise ConfigError("eval_limit: required when train_split is an eval_split (the first eval_limit items "
                              "in seeded order are held out, the rest trained on)")
        if self.max_seeds < (max(FIRST_LOOK, len(self.seeds)) if self.decide else FIRST_LOOK):
            raise ConfigError(f"max_seeds: at least {FIRST_LOOK} and the seeds given ({len(self.seeds)}), "
                              f"got {self.max_seeds}")
        if not 0 <= self.equivalence < 1:
            raise ConfigError(f"equivalence: an accuracy margin in [0, 1), got {self.equivalence}")
        budget_seconds(self.budget)
        check_targets(self)
        for name in ("lora_r", "epochs", "max_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not self.nat_correct.strip() or self.nat_correct.strip() == self.nat_incorrect.strip():
            raise ConfigError("nat_correct / nat_incorrect: must be non-empty and differ")
        if self.lr <= 0:
            raise ConfigError(f"lr: must be > 0, got {self.lr}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def seed(self) -> int:
        """The seed of a one-seed config (see :meth:`for_seed`); the first seed otherwise."""
        return self.seeds[0]

    def for_seed(self, seed: int) -> TrainConfig:
        """This config restricted to one seed (what one pass of the curve runs with)."""
        return replace(self, seeds=[seed])

    @property
    def auto_w(self) -> bool:
        """Whether Likra's w is chosen on a dev slice (which is then held out of training)."""
        return self.likra_w == "auto" and any(m.startswith("likra") for m in self.methods)

    def lora_target_modules(self) -> str | list[str]:
        return "all-linear" if self.lora_targets == "all-linear" else [t.strip() for t in self.lora_targets.split(",")]

    def config_hash(self) -> str:
        """Hash of everything that changes the results (not where adapters go, nor CPU threads)."""
        d = {k: v for k, v in self.as_dict().items() if k not in ("out_dir", "threads")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32]

    def torch_dtype(self, device: str) -> str:
        """The dtype to load the base model in on ``device``."""
        return auto_dtype(self.dtype, device)

    def together(self, device: str) -> bool:
        """Whether a point's maximum-likelihood heads train in one grouped pass on ``device``."""
        return self.heads_together == "yes" or (self.heads_together == "auto" and device == "cuda")

    def train_batch(self, device: str) -> int:
        return self.batch_size or (32 if device == "cuda" else 8)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """A config from stored or user settings: the recipe's settings first, then ``d``'s.
        A stored run from before seeds were a list (``seed: N``) reads as ``seeds: [N]``, and one
        from before scoring forwards were sized in positions (``eval_batch_size: N`` packed rows of
        128 positions) as ``eval_batch_tokens: 128 N``."""
        d = dict(d)
        if "seed" in d:
            d.setdefault("seeds", [d.pop("seed")])
        if "eval_batch_size" in d:
            rows = d.pop("eval_batch_size")
            d.setdefault("eval_batch_tokens", 128 * rows if rows else None)
        return build(cls, {**RECIPES.lookup(d.get("recipe", "default"), "recipe"), **d})

