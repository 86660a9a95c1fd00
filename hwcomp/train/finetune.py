"""Train or fine-tune a (quantization-aware) classifier: Adam, cross entropy,
cosine learning-rate decay, deterministic for a given seed."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch


def _tensor(a, dtype) -> torch.Tensor:
    return a.to(dtype) if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a), dtype=dtype)


@torch.no_grad()
def accuracy(model: torch.nn.Module, x, y, batch_size: int = 1024) -> float:
    """Top-1 accuracy of `model` in eval mode (restores the previous mode)."""
    was_training = model.training
    model.eval()
    x, y = _tensor(x, torch.float32), _tensor(y, torch.int64)
    hits = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
               for i in range(0, len(x), batch_size))
    model.train(was_training)
    return hits / len(x)


def finetune(model: torch.nn.Module, x_train, y_train, *, epochs: int = 20, lr: float = 1e-3,
             seed: int = 0, batch_size: int = 64, weight_decay: float = 0.0, cosine: bool = True,
             eval_data: tuple | None = None, threads: int | None = 1,
             log: Callable[[str], None] | None = print, log_every: int = 1,
             penalty: Callable[[], torch.Tensor] | None = None) -> list[dict]:
    """Train `model` in place and leave it in eval mode; return one dict per
    epoch (epoch, loss, train_acc[, eval_acc], seconds).

    The same seed, data and thread count give the same weights: the seed sets
    torch's global generator and the batch order; threads=1 (the default)
    fixes the reduction order of the CPU kernels. eval_data=(x, y) is only
    measured and printed, never trained on. Progress goes to `log` every
    `log_every` epochs and after the first and the last. `penalty()`, when
    given, is added to every batch's loss (a regularizer such as
    group_lasso_penalty); the reported loss includes it.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    xt, yt = _tensor(x_train, torch.float32), _tensor(y_train, torch.int64)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if cosine else None
    gen = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total, hits = 0.0, 0
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            out = model(xt[idx])
            loss = torch.nn.functional.cross_entropy(out, yt[idx])
            if penalty is not None:
                loss = loss + penalty()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            hits += int((out.argmax(1) == yt[idx]).sum())
        if sched is not None:
            sched.step()
        rec = {"epoch": epoch, "loss": total / len(xt), "train_acc": hits / len(xt)}
        if eval_data is not None:
            rec["eval_acc"] = accuracy(model, *eval_data)
        rec["seconds"] = time.perf_counter() - t0
        history.append(rec)
        if log is not None and (epoch % log_every == 0 or epoch in (1, epochs)):
            extra = f"  eval acc {rec['eval_acc']:.4f}" if "eval_acc" in rec else ""
            log(f"epoch {epoch:3d}/{epochs}  loss {rec['loss']:.4f}  train acc {rec['train_acc']:.4f}{extra}")
    model.eval()
    return history
