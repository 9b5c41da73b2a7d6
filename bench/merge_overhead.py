"""Overhead of merge.py's merge over calling mergekit's Python API directly on the same recipe.

Both sides merge the same three full models (a base and two fine-tunes of a small Mistral built here)
with the same dare_ties recipe and seed; they alternate in one process after an untimed warm-up each.
llmsweep additionally validates the recipe against mergekit's method spec, resolves the inputs and
checks architecture (safetensors headers) and tokenizers of all three: that is the overhead. The
evaluation a merge.py run does afterwards (eval loss, answers) is work the bare call does not do and
is not timed here.

    .venv/bin/python bench/merge_overhead.py [--rounds 5] [--hidden 512] [--layers 8] [--tmp /dev/shm]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from llmsweep.paths import CONF_DIR  # noqa: E402


def make_models(tmp: Path, hidden: int, layers: int) -> dict:
    """A base and two perturbed copies (stand-ins for fine-tunes), with a tokenizer, as model dirs."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from llmsweep.config import SAMPLES_DIR
    from llmsweep.models.tokenizer import train_tokenizer

    tok = train_tokenizer([str(SAMPLES_DIR / "dolly_ko.jsonl")], 2048)
    config = AutoConfig.for_model(
        "mistral",
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=8,
        num_key_value_heads=4,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_config(config)
    paths = {}
    for i, name in enumerate(("base", "a", "b")):
        if i:
            g = torch.Generator().manual_seed(i)
            with torch.no_grad():
                for p in base.parameters():
                    p.add_(torch.randn(p.shape, generator=g) * 0.01)
        paths[name] = tmp / name
        base.save_pretrained(paths[name])
        tok.save_pretrained(paths[name])
    n = sum(p.numel() for p in base.parameters())
    return paths, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--tmp", default=None, help="where the models are written, e.g. /dev/shm to keep disk noise out")
    args = ap.parse_args()

    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    from llmsweep.config import register_configs
    from llmsweep.merging.merge import merge

    with tempfile.TemporaryDirectory(dir=args.tmp) as d:
        tmp = Path(d)
        paths, n_params = make_models(tmp, args.hidden, args.layers)
        register_configs()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "merge",
                overrides=[
                    "merge=dare_ties",
                    f"merge.models=[{paths['a']},{paths['b']}]",
                    f"merge.base_model={paths['base']}",
                    "merge.weights=[0.6,0.4]",
                    "merge.densities=[0.5,0.7]",
                    f"cache_dir={tmp / 'cache'}",
                    "tracking=none",
                ],
            )
        doc = {
            "merge_method": "dare_ties",
            "base_model": str(paths["base"]),
            "dtype": "float32",
            "models": [
                {"model": str(paths["a"]), "parameters": {"weight": 0.6, "density": 0.5}},
                {"model": str(paths["b"]), "parameters": {"weight": 0.4, "density": 0.7}},
            ],
        }

        checks = []

        def ours(out: Path) -> float:
            t = time.perf_counter()
            checks.append(merge(cfg, out).seconds["check_s"])
            return time.perf_counter() - t

        def direct(out: Path) -> float:
            t = time.perf_counter()
            run_merge(
                MergeConfiguration.model_validate(doc),
                str(out),
                MergeOptions(random_seed=cfg.seed, quiet=True, device="cpu"),
            )
            return time.perf_counter() - t

        ours(tmp / "warm_ours")
        direct(tmp / "warm_direct")
        t_ours, t_direct = [], []
        for r in range(args.rounds):
            t_ours.append(ours(tmp / f"ours{r}"))
            t_direct.append(direct(tmp / f"direct{r}"))
        mo, md = statistics.median(t_ours), statistics.median(t_direct)
        print(
            f"model: Mistral hidden={args.hidden} layers={args.layers}, {n_params / 1e6:.1f} M params; dare_ties of 2 models + base; {args.rounds} rounds"
        )
        print(f"merge.py merge (llmsweep.merging.merge.merge): median {mo:.3f} s  {[round(x, 3) for x in t_ours]}")
        print(f"mergekit run_merge directly:                    median {md:.3f} s  {[round(x, 3) for x in t_direct]}")
        print(f"  of which llmsweep's validation + input checks: median {statistics.median(checks[1:]):.3f} s")
        print(
            f"ratio llmsweep / direct: median {mo / md:.3f}, best-of-{args.rounds} {min(t_ours) / min(t_direct):.3f}  (goal <= 1.1)"
        )


if __name__ == "__main__":
    main()
