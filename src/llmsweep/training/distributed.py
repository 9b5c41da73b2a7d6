"""One trial over several processes: which rank this is, the trainer's own DDP / FSDP / DeepSpeed settings
(`conf/distributed/`), and agreement between ranks on when to stop.

Processes are started by torchrun (locally, `llmsweep.launch`) or by SLURM's tasks (submitit); either way
torch.distributed's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) are set before the trainer
starts, and transformers/accelerate set up the process group from them.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.ranks import world_size


def processes(cfg: DictConfig) -> int:
    """Processes one trial runs as: one per declared device."""
    devices = cfg.get("devices")
    return int(devices.per_node) * int(devices.nodes) if devices is not None else 1


def check(cfg: DictConfig) -> None:
    """The distributed mode and the declared devices agree; DeepSpeed is there when asked for."""
    mode = str(cfg.distributed.name)
    n = processes(cfg)
    if mode == "none" and n > 1:
        raise UserError(
            f"devices.per_node x devices.nodes = {n} processes but distributed=none: "
            "add distributed=ddp or distributed=fsdp (or set devices.per_node=1)"
        )
    if mode == "deepspeed":
        import importlib.util

        if importlib.util.find_spec("deepspeed") is None:
            raise UserError(
                "distributed=deepspeed needs DeepSpeed and CUDA GPUs: `pip install deepspeed` on the cluster "
                "(it is not installed here; use distributed=fsdp on CPU)"
            )


def trainer_settings(cfg: DictConfig) -> dict:
    """transformers.TrainingArguments fields of the distributed mode (merged over `trainer` and `method.args`)."""
    dist = cfg.get("distributed")
    if dist is None or str(dist.name) == "none" or world_size() == 1:
        return {}
    fields = OmegaConf.to_container(dist.trainer, resolve=True) or {}
    import torch

    fields.setdefault("ddp_backend", dist.backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return fields


def agree(flag: bool) -> bool:
    """True on every rank when it is true on any (a signal caught by one rank, a prune decided by rank 0), so all
    ranks stop at the same step; outside a process group, the flag itself."""
    import torch
    import torch.distributed as dist

    if not _in_group():
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier() -> None:
    """Every rank waits here for the others; outside a process group, nothing."""
    import torch.distributed as dist

    if _in_group():
        dist.barrier()


def _in_group() -> bool:
    """This process is one rank of several in an initialized process group."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def trainer_class(trainer_cls, args):
    """The trl trainer class to build: as is, or, for FSDP on CPU processes, one whose accelerator runs FSDP.

    accelerate (1.15) turns its FSDP plugin on only for GPU-type processes; CPU processes (gloo) silently get DDP.
    FSDP2's `fully_shard`, its sharded checkpoints (torch.distributed.checkpoint) and accelerate's FSDP code paths
    all run on CPU, so after the trainer's accelerator is made we set its state to FSDP, as accelerate itself
    does for GPUs (`AcceleratorState.__init__`): CPU trials then take the very code path of a GPU cluster.
    """
    import torch

    if not args.fsdp or torch.cuda.is_available():
        return trainer_cls

    class CpuFsdpTrainer(trainer_cls):
        def create_accelerator_and_postprocess(self):
            super().create_accelerator_and_postprocess()
            from accelerate.state import PartialState
            from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

            state = self.accelerator.state
            if state.distributed_type == DistributedType.MULTI_CPU:
                state.fsdp_plugin = FullyShardedDataParallelPlugin(**self.args.fsdp_plugin_args)
                state.distributed_type = DistributedType.FSDP
                PartialState._shared_state["distributed_type"] = DistributedType.FSDP
                self.is_fsdp_enabled = True

    CpuFsdpTrainer.__name__ = CpuFsdpTrainer.__qualname__ = f"CpuFsdp{trainer_cls.__name__}"
    return CpuFsdpTrainer


def parameter_bytes(model) -> list[int]:
    """Bytes of parameters each rank holds (its shards under FSDP, the whole model otherwise), in rank order."""
    import torch.distributed as dist
    from torch.distributed.fsdp import FSDPModule

    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.reshard()  # the root's parameters stay gathered after a forward; count the shards
    local = sum((p.to_local() if hasattr(p, "to_local") else p).numel() * p.element_size() for p in model.parameters())
    if not (dist.is_available() and dist.is_initialized()):
        return [local]
    every = [0] * dist.get_world_size()
    dist.all_gather_object(every, local)
    return every
