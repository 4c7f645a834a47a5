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

    def take(self, now: float) -> float:
        """Record an event at `now` and return 0, or return the seconds to wait before retrying."""
        wait = self.wait(now)
        if not wait:
            self._times.append(now)
        return wait

    def wait(self, now: float) -> float:
        """The seconds to wait before an event could be taken at `now` (0: it could), without
        recording one."""
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return max(0.001, self._times[0] + self.period - now)
        return 0.0

    def refund(self) -> None:
        """Give back the last event taken (the command it counted could not run)."""
        if self._times:
            self._times.pop()

    def idle(self, now: float) -> bool:
        """True when the window holds nothing any more (it can be dropped)."""
        return not self._times or self._times[-1] <= now - self.period
