"""A small thread-safe cache of finished work (windows, face-mode blocks), bounded in count and
bytes. Work that several threads want at once is computed once: the others wait for it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Callable, Hashable

import torch


def tensor_bytes(value: torch.Tensor) -> int:
    return value.numel() * value.element_size()


class WindowCache:
    """``size_of(value)``: the bytes a value holds, for ``max_bytes``."""

    def __init__(self, max_windows: int = 4, max_bytes: int = 1 << 30,
                 size_of: Callable[[object], int] = tensor_bytes) -> None:
        if max_windows < 1:
            raise ValueError(f"the window cache must hold at least one window, not {max_windows}")
        self.max_windows, self.max_bytes, self.size_of = max_windows, max_bytes, size_of
        self._done: OrderedDict[Hashable, torch.Tensor] = OrderedDict()
        self._pending: dict[Hashable, Future] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many times ``compute`` ran: the model runs, for tests and stats

    def get(self, key: Hashable, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            future = self._pending.get(key)
            owner = future is None
            if owner:
                future = self._pending[key] = Future()
        if not owner:
            return future.result()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            future.set_exception(error)
            raise
        with self._lock:
            self.computed += 1
            del self._pending[key]
            self._store(key, value)
        future.set_result(value)
        return value

    def _store(self, key: Hashable, value: torch.Tensor) -> None:
        self._done[key] = value
        while self._done and (len(self._done) > self.max_windows or self._bytes() > self.max_bytes):
            self._done.popitem(last=False)

    def _bytes(self) -> int:
        return sum(self.size_of(v) for v in self._done.values())
