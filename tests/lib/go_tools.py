"""Where the Go clients built by scripts/go-tools.sh live (oras, crane, regctl, conformance)."""
import os
import subprocess

from arca_server import REPO_TOP


def go_tools_bin():
    """Bin dir of scripts/go-tools.sh (built on first use, cached across runs). Raises with the
    script's output on failure. $ARCA_TOOLS_BIN points at an already built dir instead."""
    preset = os.environ.get("ARCA_TOOLS_BIN")
    if preset:
        return preset
    script = os.path.join(REPO_TOP, "scripts", "go-tools.sh")
    proc = subprocess.run(["bash", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/go-tools.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]
