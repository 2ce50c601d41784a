"""The mailbox of one run on a Ray cluster: a detached actor the worker node posts to and app processes drain.

No filesystem is shared between the app and Ray's worker nodes, so everything a run writes
(metrics, TensorBoard events, its status, its model) travels as messages (`mirror` says which)
through this actor, which lives on the head node: it outlives the worker node and the job, and
any app process (several app servers, the command line, one restarted meanwhile) can drain it.

Messages are kept until an app process says it has written them to the run folder: `read`
takes the cursor stored in the run's `status.json`, so a drainer that crashes halfway simply
reads the same messages again, and applying them twice writes the same files.

This module uses only the standard library, and the app ships it to the cluster by value
(`ray.cloudpickle.register_pickle_by_value`), so the head node needs Ray, not imgrec.
"""

import time

READ_BYTES = 32 * 1024 * 1024  # One read returns at most about this much file data; a big model takes a second read.


class Mailbox:
    """The actor's body: the run's start information, its pending messages and whether it was asked to stop.

    Args:
        start_info: what the worker needs to start (config, time limit, deadline, the app's imgrec identity).
    """

    def __init__(self, start_info):
        self._start_info = dict(start_info)
        self._messages = []  # Not yet acknowledged; the first one has sequence number self._first.
        self._first = 0
        self._stop = False
        self._last_post = None

    def start_info(self):
        """Returns the start information the app left for the worker."""
        return self._start_info

    def post(self, messages):
        """Appends the worker's messages; returns whether someone asked the run to stop (one round trip for both)."""
        self._messages.extend(messages)
        self._last_post = time.time()
        return self._stop

    def request_stop(self):
        """Records a cancel request; the worker learns of it at its next post."""
        self._stop = True

    def read(self, cursor, max_bytes=READ_BYTES):
        """Returns the messages from sequence number `cursor` on, forgetting the ones before it (already written).

        Returns:
            `{"first": sequence number of messages[0], "messages": [...], "more": whether some were held back,
            "stop": bool, "last_post": Unix time of the worker's last post or None}`.
        """
        drop = min(max(0, cursor - self._first), len(self._messages))
        del self._messages[:drop]
        self._first += drop
        taken, size = [], 0
        for message in self._messages:
            if taken and size + len(message.get("data") or b"") > max_bytes:
                break
            taken.append(message)
            size += len(message.get("data") or b"")
        return {"first": self._first, "messages": taken, "more": len(taken) < len(self._messages),
                "stop": self._stop, "last_post": self._last_post}
