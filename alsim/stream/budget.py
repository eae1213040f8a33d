"""Budget manager for stream-based active learning.

The manager holds the share of arriving examples that get labelled near a target fraction ``B`` using the
estimated spending of Zliobaite, Bifet, Pfahringer & Holmes (2014), "Active Learning With Drifting Streaming
Data", IEEE Transactions on Neural Networks and Learning Systems 25(1), 27-39: the number of labels bought
among the last ``w`` arrivals is estimated by the fading count

    u_t = u_{t-1} (w - 1) / w + labelled_t,

and the estimated spending is ``u_t / w``. Two documented departures from the paper:

- The paper allows a label whenever the spending *before* buying is below ``B``, so the estimate hovers
  just above ``B w`` and the stream is labelled at about ``B + 1/(2w)``. We allow ``k`` labels when the
  estimate *after* buying them rounds to at most the target (``u + k <= B w + 1/2``), and we start the
  estimate at its steady state ``u_0 = B w`` (no burst of labels at the start). The estimate then hovers
  around ``B w`` and, since summing the recursion gives ``labels = u_n - u_0 + (1/w) sum_t u_{t-1}``, the
  long-run share is ``B`` to within half a label per window.
- A drift response: :meth:`BudgetManager.boost` raises the target to ``boost_factor * B`` for
  ``boost_period`` arrivals. The labels bought during the boost beyond ``B`` per arrival are a *debt*; once
  the boost is over the target drops to ``payback_rate * B`` until the labels bought since the boost began
  are back at ``B`` per arrival (less the burst that the return to the base target buys), so the total spend
  matches a fixed-rate run (provided the stream lasts long enough to repay). Only boost periods are accounted:
  labels a picky strategy left unspent before the drift are not spent by the boost.
"""

from __future__ import annotations

import math

from alsim._validation import check_fraction, check_int, check_real

__all__ = ["BudgetManager"]


class BudgetManager:
    """Hold the labelled share of a stream near a target fraction (estimated spending over a window).

    Call :meth:`arrive` once per arriving example, then :meth:`allowance` to learn how many labels may be
    bought now and :meth:`spend` with the number actually bought.

    Parameters
    ----------
    budget_fraction : float in (0, 1]
        Target share ``B`` of arriving examples to label.
    window : int, default=100
        Memory ``w`` of the spending estimate, in arrivals.
    boost_factor : float >= 1, default=3.0
        Target multiplier during a drift boost (capped at a share of 1).
    boost_period : int >= 0, default=500
        Arrivals a boost lasts; 0 disables boosting.
    payback_rate : float in [0, 1), default=0.5
        Target, as a multiple of ``B``, while the debt of a boost is being repaid.

    Examples
    --------
    >>> manager = BudgetManager(0.1, window=50)
    >>> bought = 0
    >>> for _ in range(1000):
    ...     manager.arrive()
    ...     k = min(1, manager.allowance())
    ...     manager.spend(k)
    ...     bought += k
    >>> bought
    100
    """

    def __init__(
        self,
        budget_fraction: float,
        *,
        window: int = 100,
        boost_factor: float = 3.0,
        boost_period: int = 500,
        payback_rate: float = 0.5,
    ) -> None:
        owner = "BudgetManager"
        self.budget_fraction = check_fraction(budget_fraction, "budget_fraction", owner, high_open=False)
        self.window: int = check_int(window, "window", owner, low=1)
        self.boost_factor = check_real(boost_factor, "boost_factor", owner, low=1.0)
        self.boost_period: int = check_int(boost_period, "boost_period", owner, low=0)
        self.payback_rate = check_fraction(payback_rate, "payback_rate", owner, low_open=False)
        self._decay = (self.window - 1) / self.window
        self._estimate = self.budget_fraction * self.window
        self._boost_left = 0
        self._phase = "base"  # "boost", "payback" (repaying a boost's debt) or "base"
        self._debt = 0.0
        # Back at the base target the estimate climbs from payback_rate * B w to B w at once, buying this
        # many labels in a burst: the payback runs until it has saved them too.
        self._catch_up = (1.0 - self.payback_rate) * self.budget_fraction * self.window
        self.n_arrived = 0
        self.n_bought = 0

    @property
    def spending(self) -> float:
        """Estimated share of recent arrivals that were labelled (``u_t / w``)."""
        return self._estimate / self.window

    @property
    def debt(self) -> float:
        """Labels bought since the last boost began beyond ``B`` per arrival, not yet repaid."""
        return self._debt

    @property
    def boosting(self) -> bool:
        """Whether the current arrival is in a drift boost."""
        return self._phase == "boost"

    @property
    def target(self) -> float:
        """The share of arrivals the manager aims to label right now."""
        if self._phase == "boost":
            return min(1.0, self.boost_factor * self.budget_fraction)
        if self._phase == "payback":
            return self.payback_rate * self.budget_fraction
        return self.budget_fraction

    def arrive(self) -> None:
        """Register one arriving example (fades the spending estimate, advances a boost or its payback)."""
        self._estimate *= self._decay
        self.n_arrived += 1
        if self._boost_left > 0:
            self._boost_left -= 1
            self._phase = "boost"
        elif self._phase != "base" and self._debt > -self._catch_up:
            self._phase = "payback"
        else:
            self._phase = "base"
            self._debt = 0.0
        if self._phase != "base":
            self._debt -= self.budget_fraction

    def allowance(self) -> int:
        """Return the number of labels that can be bought now with the estimate staying at or below the target."""
        # Half a label of slack: the estimate rounds to the target instead of staying strictly below it.
        return max(0, math.floor(self.target * self.window - self._estimate + 0.5))

    def spend(self, n_labels: int = 1) -> None:
        """Register ``n_labels`` labels bought at the current arrival."""
        n_labels = check_int(n_labels, "n_labels", "BudgetManager.spend", low=0)
        self._estimate += n_labels
        self.n_bought += n_labels
        if self._phase != "base":
            self._debt += n_labels

    def boost(self) -> None:
        """Start (or restart) a drift boost over the next ``boost_period`` arrivals."""
        self._boost_left = self.boost_period
