"""DynamoDB's item operations made atomic in moto, as they are in DynamoDB.

moto's server answers requests in threads, and its DynamoDB backend copies and changes an
item without a lock: two UpdateItems on one item at the same moment fail with a 500
("dictionary changed size during iteration"), which botocore retries with backoff. DynamoDB
applies each write to an item atomically, and the failover relies on it (the lease, and the
looks concurrent moves share: shared_looks). One lock over every item operation is the
simplest faithful model; an emulator serving dozens of concurrent invocations needs it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.responses import DynamoHandler


@contextmanager
def atomic_items() -> Iterator[None]:
    """Within: every DynamoDB request in this process is answered alone.

    At the request, not the backend: moto serializes an updated item into its response
    after the backend has returned, where a concurrent write can still change it.
    """
    lock = threading.RLock()
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def alone(self: DynamoHandler, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    DynamoHandler.call_action = alone  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
