"""``ethoscout eval --simulate``: an oracle answers the app's own suggestions, round by round.

A fully labelled project (its BORIS import or labels) is the truth. Its videos are split into
grouped folds as ``eval`` does. Per fold, the training videos are the pool the app suggests
from and the oracle answers: a suggested window is accepted when the truth says it shows the
behaviour, rejected otherwise. Each round, for each behaviour, the app proposes ``per_round``
clips with a strategy (the suggestion code the user gets: top, uncertain, diverse, mixed; plus
random as the baseline), the oracle answers them, the head refits and the fused scores change
(LoRA retrains every ``lora_every`` rounds when asked). After every round the fused scores of
the held-out videos' labelled windows are ranked: the learning curve is held-out mAP against
answers per behaviour, mean ± sd over folds, one curve per strategy.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .examples import LabelledWindows
from .fusion import fit_fused, purge
from .heads import ProjectWindows
from .heldout import assign_folds, window_groups
from .metrics import average_precision, nanmean
from .suggest import STRATEGIES, rank_suggestions

SIM_STRATEGIES = (*STRATEGIES, "random")


@dataclass
class Curves:
    answers: list[int]  # answers per behaviour after each round (0 = before any)
    per_fold: dict[str, list[list[float]]]  # strategy -> per fold, held-out mAP per round
    protocol: str = ""
    notes: list[str] = field(default_factory=list)

    def mean_sd(self, strategy: str) -> tuple[np.ndarray, np.ndarray]:
        a = np.array(self.per_fold[strategy], dtype=np.float64)
        sd = a.std(axis=0, ddof=1) if len(a) > 1 else np.zeros(a.shape[1])
        return a.mean(axis=0), sd

    def at(self, strategy: str, answers: int) -> float:
        """Mean held-out mAP at the last round with at most ``answers`` answers."""
        i = max(k for k, n in enumerate(self.answers) if n <= answers)
        return float(self.mean_sd(strategy)[0][i])

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["strategy", "answers_per_behaviour", "mAP_mean", "mAP_sd", "folds"])
            for s in self.per_fold:
                mean, sd = self.mean_sd(s)
                for n, m, d in zip(self.answers, mean, sd):
                    w.writerow([s, n, f"{m:.4f}", f"{d:.4f}", len(self.per_fold[s])])

    def plot(self, path: Path, title: str = "") -> bool:
        """A PNG of the curves; False when matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return False
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
        for s in self.per_fold:
            mean, sd = self.mean_sd(s)
            ax.plot(self.answers, mean, marker="o", ms=3, label=s, ls="--" if s == "random" else "-")
            ax.fill_between(self.answers, mean - sd, mean + sd, alpha=0.12)
        ax.set_xlabel("answers per behaviour")
        ax.set_ylabel("held-out mAP (mean ± sd over folds)")
        ax.set_title(title or "learning curve", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return True

    def format(self) -> str:
        head = f"{'answers/behaviour':>18}  " + "  ".join(f"{s:>13}" for s in self.per_fold)
        lines = [self.protocol, head]
        stats = {s: self.mean_sd(s) for s in self.per_fold}
        for i, n in enumerate(self.answers):
            lines.append(f"{n:>18}  " + "  ".join(f"{stats[s][0][i]:6.3f}±{stats[s][1][i]:5.3f}" for s in self.per_fold))
        lines.extend(f"note: {x}" for x in self.notes)
        return "\n".join(lines)


def _truth(data: LabelledWindows, rows: np.ndarray, n: int) -> np.ndarray:
    """(N, B) 1 where the labels say the window shows the behaviour, else 0."""
    t = np.zeros((n, data.targets.shape[1]), np.int8)
    t[rows] = data.targets == 1
    return t


class Oracle:
    """The answers given so far in one fold and one strategy, per behaviour."""

    def __init__(self, windows: ProjectWindows, truth: np.ndarray):
        self.windows = windows
        self.truth = truth
        self.answered: list[dict[int, int]] = [dict() for _ in range(truth.shape[1])]  # row -> 0/1

    def answer(self, b: int, row: int) -> None:
        self.answered[b][row] = int(self.truth[row, b])

    def training(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and targets for behaviour b: its answers, and other behaviours' accepts as
        negatives (as the app's labels give them)."""
        own = self.answered[b]
        rows, y = list(own), list(own.values())
        for c, other in enumerate(self.answered):
            if c != b:
                for r, v in other.items():
                    if v == 1 and r not in own:
                        rows.append(r)
                        y.append(0)
        return np.array(rows, dtype=np.int64), np.array(y, dtype=np.int8)

    def labels(self, b: int) -> list[dict]:
        """The behaviour's answers as label rows for the suggestion code."""
        starts, ends = self.windows.times()
        out = []
        for r, v in self.answered[b].items():
            s = self.windows.stores[int(self.windows.store_of(np.array([r]))[0])]
            out.append({"video_path": s.meta["video_path"], "video": s.meta.get("video_name"),
                        "start_s": float(starts[r]), "end_s": float(ends[r]),
                        "verdict": "accept" if v else "reject"})
        return out


def next_rows(windows: ProjectWindows, pool_stores: list[int], scores: np.ndarray, oracle: Oracle, b: int,
              n: int, strategy: str, rng: np.random.Generator) -> list[int]:
    """The rows the app would suggest next (restricted to the pool's videos)."""
    if strategy == "random":
        starts, ends = windows.times()
        rows = np.concatenate([np.arange(windows.offsets[si], windows.offsets[si + 1]) for si in pool_stores])
        answered = np.array(list(oracle.answered[b]), dtype=np.int64)
        free = purge(windows, starts, ends, rows, answered) if len(answered) else rows
        return [int(r) for r in rng.permutation(free)[:n]]
    stores = [windows.stores[si] for si in pool_stores]
    per_store = [scores[windows.offsets[si]:windows.offsets[si + 1]] for si in pool_stores]
    picks = rank_suggestions(stores, per_store, oracle.labels(b), n=n, strategy=strategy,
                             seed=int(rng.integers(1 << 31)))
    index = {id(s): si for si, s in zip(pool_stores, stores)}
    by_path = {s.meta["video_path"]: index[id(s)] for s in stores}
    return [int(windows.offsets[by_path[p.video_path]] + p.window) for p in picks]


def allowed_picks(windows: ProjectWindows, pool: list[int], scores: np.ndarray, oracle: Oracle, b: int, n: int,
                  strategy: str, rng: np.random.Generator, allowed: np.ndarray) -> list[int]:
    """The first ``n`` suggestions that are not held-out windows (block folds share videos);
    asks for more only when some were left out, so the strategy's own order is kept."""
    ask = n
    while True:
        picks = next_rows(windows, pool, scores, oracle, b, ask, strategy, rng)
        kept = [p for p in picks if np.isin(p, allowed)]
        if len(kept) >= n or len(picks) < ask or ask >= 8 * n:
            return kept[:n]
        ask *= 2


def simulate(windows: ProjectWindows, data: LabelledWindows, priors: np.ndarray, strategies=SIM_STRATEGIES,
             rounds: int = 10, per_round: int = 2, folds: int = 5, by: str = "video", session: str | None = None,
             block_s: float = 10.0, seed: int = 0, lora_every: int = 0, lora=None, on_round=None) -> Curves:
    """Learning curves (see module doc). ``lora(train_data) -> (N, B)`` retrains the prior."""
    rows = windows.rows(data.store_index, data.window_index)
    groups = window_groups(windows, rows, by, session, block_s)
    fold_of = assign_folds(groups, folds, seed)
    truth = _truth(data, rows, len(windows))
    starts, ends = windows.times()
    per_fold: dict[str, list[list[float]]] = {s: [] for s in strategies}
    n_b = data.targets.shape[1]
    answers = [0] + [per_round * (r + 1) for r in range(rounds)]
    for f in range(int(fold_of.max()) + 1):
        test = rows[fold_of == f]
        test_stores = set(windows.store_of(test).tolist())
        pool = [si for si in range(len(windows.stores)) if si not in test_stores] if by != "block" else \
            list(range(len(windows.stores)))
        pool_rows = np.concatenate([np.arange(windows.offsets[si], windows.offsets[si + 1]) for si in pool])
        allowed = purge(windows, starts, ends, pool_rows, test)  # never answer a held-out window
        known = {c: test[data.targets[fold_of == f, c] >= 0] for c in range(n_b)}
        known_y = {c: data.targets[fold_of == f, c][data.targets[fold_of == f, c] >= 0] == 1 for c in range(n_b)}
        evaluated = [c for c in range(n_b) if known_y[c].any()]
        if not evaluated:
            continue
        for strategy in strategies:
            rng = np.random.default_rng(seed + 7919 * f)
            oracle = Oracle(windows, truth)
            prior = priors.copy()
            curve = []
            fused = [prior[:, c] for c in range(n_b)]
            for r in range(rounds + 1):
                curve.append(nanmean([average_precision(fused[c][known[c]], known_y[c]) for c in evaluated]))
                if r == rounds:
                    break
                for c in range(n_b):
                    for p in allowed_picks(windows, pool, fused[c], oracle, c, per_round, strategy, rng, allowed):
                        oracle.answer(c, p)
                if lora is not None and lora_every and (r + 1) % lora_every == 0:
                    prior = lora(_answers_as_data(data, oracle, windows))
                for c in range(n_b):
                    tr, y = oracle.training(c)
                    fused[c] = fit_fused(windows, prior[:, c], tr, y, None, "both").fused
                if on_round is not None:
                    on_round(f, strategy, r)
            per_fold[strategy].append(curve)
    what = {"video": "video", "session": f"session ({session})", "block": f"{block_s:g}-s block"}[by]
    protocol = (f"oracle replay: {per_round} answers per behaviour per round, {rounds} rounds, "
                f"{len(per_fold[strategies[0]])} folds grouped by {what}; held-out mAP of the fused score")
    return Curves(answers, per_fold, protocol)


def _answers_as_data(data: LabelledWindows, oracle: Oracle, windows: ProjectWindows) -> LabelledWindows:
    """The oracle's answers as labelled windows (for a LoRA round)."""
    rows = sorted({r for a in oracle.answered for r in a})
    targets = np.full((len(rows), len(oracle.answered)), -1, np.int8)
    for c in range(len(oracle.answered)):
        tr, y = oracle.training(c)
        pos = {r: k for k, r in enumerate(rows)}
        for r, v in zip(tr, y):
            targets[pos[int(r)], c] = v
    store = windows.store_of(np.array(rows, dtype=np.int64))
    window = np.array(rows, dtype=np.int64) - windows.offsets[store]
    return LabelledWindows(data.behaviors, store, window, targets, (targets >= 0).astype(np.float32),
                           [{-(i + 1)} for i in range(len(rows))], windows.stores)


def simulate_project(project, loaded, out_dir: str | Path, strategies=None, rounds: int = 10,
                     per_round: int = 2, folds: int = 5, by: str = "video", session: str | None = None,
                     block_s: float = 10.0, seed: int = 0, lora_every: int = 0, lora_opts=None,
                     on_round=None) -> tuple[Curves, list[Path]]:
    """Run ``simulate`` on a project's labels; write learning_curve.csv (and .png)."""
    from ..model.query import QueryScorer
    from .adapters import LearnError, project_stores
    from .examples import labelled_windows
    from .heldout import behaviour_priors, lora_scorer

    strategies = tuple(strategies or SIM_STRATEGIES)
    scorer = QueryScorer(loaded)
    stores = project_stores(project, loaded)
    windows = ProjectWindows.build(scorer, stores)
    data = labelled_windows(project.labels(), project.behaviors(), stores)
    if len(data) == 0:
        raise LearnError(f"{project.folder}: no label covers an indexed window; the simulation replays a "
                         "fully labelled project (import its BORIS file first)")
    priors = behaviour_priors(scorer, stores, data.behaviors)
    lora = lora_scorer(loaded, data.behaviors, stores, lora_opts) if lora_every and lora_opts is not None else None
    curves = simulate(windows, data, priors, strategies, rounds, per_round, folds, by, session, block_s, seed,
                      lora_every, lora, on_round)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "learning_curve.csv"]
    curves.write_csv(written[0])
    if curves.plot(out / "learning_curve.png", curves.protocol[:90]):
        written.append(out / "learning_curve.png")
    else:
        curves.notes.append("matplotlib is not installed: no PNG (pip install matplotlib)")
    return curves, written
