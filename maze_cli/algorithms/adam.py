"""Adam as torch's fused kernel, without ``torch.optim``'s import of ``torch._dynamo``.

Every method of a ``torch.optim`` optimiser imports ``torch._dynamo`` on its first call in a process (torch
2.13 wraps them to keep the compiler out), which costs about 1.1 s of a 2-core machine's time: in every
``maze-run``, every sweep job and every test subprocess, a fixed cost larger than a short run's training.
This optimiser calls the same kernel ``torch.optim.Adam(fused=True)`` calls, ``torch._fused_adam_``, so the
arithmetic is identical, and keeps its state in ``torch.optim.Adam``'s ``state_dict`` layout, so checkpoints
written by either load in the other.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

import torch


class FusedAdam:
    """Adam (no weight decay, no AMSGrad) over one group of CPU or CUDA float parameters.

    :param parameters: the parameters to train.
    :param lr: the learning rate; change it through ``param_groups[0]["lr"]`` as with torch optimisers.
    :param betas: the decay rates of the first and second moment estimates.
    :param eps: added to the second moment's root for numerical stability.
    """

    def __init__(self, parameters: Iterable[torch.nn.Parameter], lr: float, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.parameters: List[torch.nn.Parameter] = list(parameters)
        # the keys torch.optim.Adam writes, so a state dict of either class loads in the other
        self.param_groups: List[Dict[str, Any]] = [{
            "params": self.parameters, "lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": 0.0,
            "amsgrad": False, "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
            "fused": True, "decoupled_weight_decay": False}]
        self.state: Dict[torch.nn.Parameter, Dict[str, torch.Tensor]] = {}
        devices = {p.device for p in self.parameters}
        if len(devices) > 1:
            raise ValueError(f"FusedAdam: parameters on {len(devices)} devices {sorted(map(str, devices))}; "
                             f"expected one device")
        # every parameter's step count is a 0-dim view of this vector: one op counts a step for all of them
        self._steps = torch.zeros(len(self.parameters), dtype=torch.float32, device=next(iter(devices), None))
        self._index = {p: i for i, p in enumerate(self.parameters)}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for parameter in self.parameters:
            if set_to_none:
                parameter.grad = None
            elif parameter.grad is not None:
                parameter.grad.zero_()

    def _state_of(self, parameter: torch.nn.Parameter) -> Dict[str, torch.Tensor]:
        state = self.state.get(parameter)
        if state is None:
            state = self.state[parameter] = {
                "step": self._steps[self._index[parameter]],
                "exp_avg": torch.zeros_like(parameter, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(parameter, memory_format=torch.preserve_format)}
        return state

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step for every parameter that has a gradient."""
        group = self.param_groups[0]
        parameters = [p for p in self.parameters if p.grad is not None]
        if not parameters:
            return
        states = [self._state_of(p) for p in parameters]
        steps = [s["step"] for s in states]
        if len(parameters) == len(self.parameters):
            self._steps.add_(1)
        else:  # some parameters had no gradient (a loss that leaves a network out): count only the others
            torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(parameters, [p.grad for p in parameters], [s["exp_avg"] for s in states],
                           [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False, lr=float(group["lr"]),
                           beta1=float(beta1), beta2=float(beta2), weight_decay=0.0, eps=float(group["eps"]),
                           maximize=False, grad_scale=None, found_inf=None)

    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {"step", "exp_avg", "exp_avg_sq"}}, "param_groups": [...]}`` as torch.optim.Adam."""
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        # a step count of its own, as torch.optim.Adam saves it, not a view of the shared vector
        return {"state": {self._index[p]: {**s, "step": s["step"].clone()} for p, s in self.state.items()},
                "param_groups": [{**group, "params": list(range(len(self.parameters)))}]}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restores moments, step counts and hyper-parameters saved by this class or by ``torch.optim.Adam``."""
        groups = state_dict["param_groups"]
        saved = [i for group in groups for i in group["params"]]
        if len(groups) != 1 or len(saved) != len(self.parameters):
            raise ValueError(f"optimizer state: saved for {len(saved)} parameters in {len(groups)} group(s), "
                             f"this optimizer has {len(self.parameters)} parameters in 1 group")
        by_saved_index = dict(zip(saved, self.parameters))
        self.state = {}
        self._steps.zero_()
        for i, moments in state_dict["state"].items():
            parameter = by_saved_index[int(i)]
            if moments["exp_avg"].shape != parameter.shape:
                raise ValueError(f"optimizer state: parameter {i} has moments of shape "
                                 f"{tuple(moments['exp_avg'].shape)}, the parameter has {tuple(parameter.shape)}")
            step = self._steps[self._index[parameter]]
            step.copy_(moments["step"].reshape(()))
            self.state[parameter] = {
                "step": step,
                "exp_avg": moments["exp_avg"].to(parameter, copy=True),
                "exp_avg_sq": moments["exp_avg_sq"].to(parameter, copy=True)}
        for key in ("lr", "betas", "eps"):
            self.param_groups[0][key] = groups[0][key]
