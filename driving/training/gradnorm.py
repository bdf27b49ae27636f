"""GradNorm (Chen et al., ICML 2018): learn the task weights so that tasks train at similar rates.

For task i with loss L_i and weight w_i, G_i = ||grad_W (w_i L_i)||_2 over a shared layer W
(the last layer the task shares with the others: x13 uses the fusion layer for the planning
tasks and the backbone's last layer for segmentation, red light and speed); r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0)) is
its relative inverse training rate. The weights minimise sum_i |G_i - mean(G) * r_i^alpha|
(the target is a constant), then are renormalised to sum to the number of tasks. alpha = 1.5
as LeTFuser.

Since w_i is a scalar, G_i = w_i * ||grad_W L_i||: one gradient of each task loss with respect
to W (no second-order graph) gives the exact GradNorm gradient for the weights. A task whose
loss does not reach W (zero gradient there) cannot be balanced by it: it keeps its weight up to
the renormalisation and is left out of mean(G) and mean(L/L(0)).
Under DDP the per-task norms and losses are averaged over ranks so every rank holds the same
weights.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch
import torch.distributed as dist

_MIN_WEIGHT = 1e-3
_EPS = 1e-12


class GradNorm:
    """Task weights for `tasks`, balanced on the gradients at shared parameters.

    `shared_params` is one parameter list for every task, or a mapping task -> its list.
    """

    def __init__(self, tasks: Sequence[str],
                 shared_params: Iterable[torch.nn.Parameter] | Mapping[str, Iterable[torch.nn.Parameter]],
                 alpha: float = 1.5, lr: float = 0.025, device: torch.device | str | None = None) -> None:
        self.tasks = tuple(tasks)
        if not self.tasks:
            raise ValueError("GradNorm needs at least one task")
        if isinstance(shared_params, Mapping):
            missing = [t for t in self.tasks if t not in shared_params]
            if missing:
                raise ValueError(f"GradNorm: no shared parameters given for tasks {missing}")
            per_task = {t: [p for p in shared_params[t] if p.requires_grad] for t in self.tasks}
        else:
            common = [p for p in shared_params if p.requires_grad]
            per_task = {t: common for t in self.tasks}
        empty = [t for t, ps in per_task.items() if not ps]
        if empty:
            raise ValueError(f"GradNorm: tasks {empty} have no shared parameters that require gradients")
        self.shared = per_task
        self.alpha = float(alpha)
        self.weights = torch.ones(len(self.tasks), device=device, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.weights], lr=lr)
        self.initial_losses: torch.Tensor | None = None

    def weight_dict(self) -> dict[str, float]:
        return {t: float(w) for t, w in zip(self.tasks, self.weights.detach().cpu())}

    def weighted_sum(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """sum_i w_i L_i with the current weights held constant (the model's training loss)."""
        w = self.weights.detach()
        return sum(w[i] * losses[t] for i, t in enumerate(self.tasks))

    def _shared_grad_norm(self, task: str, loss: torch.Tensor, loss_scale: float) -> torch.Tensor:
        if not loss.requires_grad:
            return torch.zeros((), device=self.weights.device)
        grads = torch.autograd.grad(loss * loss_scale, self.shared[task], retain_graph=True, allow_unused=True)
        squares = [g.float().pow(2).sum() for g in grads if g is not None]
        if not squares:
            return torch.zeros((), device=self.weights.device)
        return torch.stack(squares).sum().sqrt().to(self.weights.device) / loss_scale

    def update(self, losses: Mapping[str, torch.Tensor], loss_scale: float = 1.0) -> dict[str, float]:
        """One GradNorm step on the weights; the losses' graph is kept for the model's backward.

        `loss_scale` is the AMP GradScaler's scale (gradients are taken of scaled losses so fp16
        does not underflow, then unscaled). Returns diagnostics (the GradNorm loss); an empty
        dict when the step was skipped (non-finite gradients, no task reaching W).
        """
        values = torch.stack([losses[t].detach().float() for t in self.tasks]).to(self.weights.device)
        norms = torch.stack([self._shared_grad_norm(t, losses[t], loss_scale) for t in self.tasks])
        if dist.is_available() and dist.is_initialized():
            packed = torch.cat([values, norms])
            dist.all_reduce(packed)
            packed /= dist.get_world_size()
            values, norms = packed[: len(self.tasks)], packed[len(self.tasks):]
        if not (torch.isfinite(values).all() and torch.isfinite(norms).all()):
            return {}
        if self.initial_losses is None:
            self.initial_losses = values.clamp_min(_EPS).clone()
        active = norms > 0
        if not bool(active.any()):
            return {}
        ratio = values / self.initial_losses
        inverse_rate = ratio / ratio[active].mean()
        g = self.weights * norms
        target = (g[active].mean() * inverse_rate.pow(self.alpha)).detach()
        grad_loss = (g - target)[active].abs().sum()
        self.optimizer.zero_grad(set_to_none=True)
        grad_loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            self.weights.clamp_(min=_MIN_WEIGHT)
            self.weights.mul_(len(self.tasks) / self.weights.sum())
        return {"gradnorm_loss": grad_loss.item()}

    def state_dict(self) -> dict:
        return {"tasks": list(self.tasks), "alpha": self.alpha, "weights": self.weights.detach().cpu(),
                "initial_losses": None if self.initial_losses is None else self.initial_losses.cpu(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: Mapping) -> None:
        if list(state["tasks"]) != list(self.tasks):
            raise ValueError(f"GradNorm state is for tasks {list(state['tasks'])}, not {list(self.tasks)}")
        with torch.no_grad():
            self.weights.copy_(state["weights"].to(self.weights.device))
        initial = state["initial_losses"]
        self.initial_losses = None if initial is None else initial.to(self.weights.device)
        self.optimizer.load_state_dict(state["optimizer"])
