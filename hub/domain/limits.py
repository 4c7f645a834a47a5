"""Rate limits as sliding windows: pure, with the clock passed in."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class Window:
    """At most `limit` events per `period` seconds."""

    limit: int
    period: float
    _times: deque[float] = field(default_factory=deque)

    def take(self, now: float, count: int = 1) -> float:
        """Record `count` events at `now` and return 0, or return the seconds to wait before
        retrying (all or none are recorded; more than `limit` at once never fit: `period`)."""
        wait = self.wait(now, count)
        if not wait:
            self._times.extend([now] * count)
        return wait

    def wait(self, now: float, count: int = 1) -> float:
        """The seconds to wait before `count` events could be taken at `now` (0: they could),
        without recording any."""
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()
        if count > self.limit:
            return self.period
        over = len(self._times) + count - self.limit
        if over > 0:
            return max(0.001, self._times[over - 1] + self.period - now)
        return 0.0

    def refund(self, count: int = 1) -> None:
        """Give back the last `count` events taken (what they counted could not run)."""
        for _ in range(min(count, len(self._times))):
            self._times.pop()

    def idle(self, now: float) -> bool:
        """True when the window holds nothing any more (it can be dropped)."""
        return not self._times or self._times[-1] <= now - self.period
