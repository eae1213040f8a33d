"""Type stubs of the Rust extension ``alsim._core`` (hand-written; checked by ``python -m mypy.stubtest``).

Use :mod:`alsim.kernels`, which validates and converts arguments; these functions take numpy arrays of
the exact dtypes listed and raise alsim exceptions for anything else.
"""

import numpy as np
import numpy.typing as npt

__all__ = [
    "MEASURES",
    "PROBA_SUM_TOLERANCE",
    "consensus_kl",
    "k_center_greedy",
    "kmeans_pp",
    "pairwise_disagreement",
    "select_most_uncertain",
    "top_k",
    "uncertainty_scores",
    "uncertainty_table",
    "vote_entropy",
]

PROBA_SUM_TOLERANCE: float
MEASURES: list[str]

def uncertainty_scores(
    proba: npt.NDArray[np.float32] | npt.NDArray[np.float64], measure: str
) -> npt.NDArray[np.float64]: ...
def uncertainty_table(
    proba: npt.NDArray[np.float32] | npt.NDArray[np.float64], measures: list[str]
) -> npt.NDArray[np.float64]: ...
def top_k(scores: npt.NDArray[np.float32] | npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int64]: ...
def select_most_uncertain(
    proba: npt.NDArray[np.float32] | npt.NDArray[np.float64], k: int, measure: str
) -> npt.NDArray[np.int64]: ...
def k_center_greedy(
    X: npt.NDArray[np.float32] | npt.NDArray[np.float64], labeled: npt.NDArray[np.int64], k: int, seed: int
) -> npt.NDArray[np.int64]: ...
def vote_entropy(votes: npt.NDArray[np.int32] | npt.NDArray[np.int64], n_classes: int) -> npt.NDArray[np.float64]: ...
def consensus_kl(member_proba: npt.NDArray[np.float32] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
def pairwise_disagreement(votes: npt.NDArray[np.int32] | npt.NDArray[np.int64]) -> npt.NDArray[np.float64]: ...
def kmeans_pp(X: npt.NDArray[np.float32] | npt.NDArray[np.float64], k: int, seed: int) -> npt.NDArray[np.int64]: ...
