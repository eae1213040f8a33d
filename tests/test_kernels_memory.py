"""A kernel whose output or scratch space cannot be allocated raises MemoryError (alsim's
KernelMemoryError) naming the kernel and the bytes, instead of aborting the interpreter.

Each case runs in a subprocess whose address space is capped with RLIMIT_AS, so that an allocation
too large for the cap fails the way it would on a machine out of memory. Inputs are zero-stride
broadcast views: huge shapes that take no memory themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")

LIMIT = 3 << 30  # 3 GiB of address space: the interpreter, numpy and rayon's threads fit, 8 GiB do not
N = 2**33

CASES = {
    "uncertainty_scores": "K.uncertainty_scores(np.broadcast_to([0.5, 0.5], (N, 2)), 'margin')",
    "uncertainty_table": "K.uncertainty_table(np.broadcast_to([0.5, 0.5], (N, 2)))",
    "select_most_uncertain[entropy]": "K.select_most_uncertain(np.broadcast_to([0.5, 0.5], (N, 2)), N, 'entropy')",
    "select_most_uncertain[margin]": "K.select_most_uncertain(np.broadcast_to([0.5, 0.5], (N, 2)), N // 2, 'margin')",
    "top_k": "K.top_k(np.broadcast_to(1.0, (N,)), 1)",
    "k_center_greedy": "K.k_center_greedy(np.broadcast_to(1.0, (N, 1)), None, 1, 0)",
    "kmeans_pp": "K.kmeans_pp(np.broadcast_to(1.0, (N, 1)), 1, 0)",
    "vote_entropy": "K.vote_entropy(np.broadcast_to(np.int64(0), (1, N)), 2)",
    "vote_entropy[members]": "K.vote_entropy(np.broadcast_to(np.int64(0), (2**31, 2)), 2)",
    "consensus_kl": "K.consensus_kl(np.broadcast_to(0.5, (1, N, 2)))",
    "consensus_kl[classes]": "K.consensus_kl(np.broadcast_to(2.0**-33, (1, 1, N)))",
    "pairwise_disagreement": "K.pairwise_disagreement(np.broadcast_to(np.int64(0), (2, N)))",
    "pairwise_disagreement[members]": "K.pairwise_disagreement(np.broadcast_to(np.int64(0), (2**31, 2)))",
}

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import alsim.kernels as K
    from alsim.exceptions import AlsimError

    N = {n}
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    try:
        {call}
        outcome = {{"raised": None}}
    except MemoryError as exc:
        outcome = {{"raised": type(exc).__name__, "alsim": isinstance(exc, AlsimError), "message": str(exc)}}
    print(json.dumps(outcome))
    """
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_allocation_failure_raises_memory_error(case: str) -> None:
    script = SCRIPT.format(n=N, limit=LIMIT, call=CASES[case])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the interpreter died (exit code {done.returncode}): {done.stderr[-2000:]}"
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["raised"] == "KernelMemoryError", outcome
    assert outcome["alsim"], outcome
    kernel = case.split("[")[0]
    message = outcome["message"]
    assert message.startswith(f"{kernel} could not allocate "), message
    requested = int(message.split(" could not allocate ")[1].split(" bytes")[0])
    assert requested > LIMIT, message
    assert "GiB" in message and "smaller input" in message, message


def test_memory_error_is_a_builtin_memory_error() -> None:
    from alsim.exceptions import AlsimError, KernelMemoryError

    assert issubclass(KernelMemoryError, MemoryError)
    assert issubclass(KernelMemoryError, AlsimError)
