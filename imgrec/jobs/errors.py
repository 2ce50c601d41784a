"""The one error type of `imgrec.jobs`: a run request that cannot be honoured."""


class JobError(ValueError):
    """A run request that cannot be honoured; `str(e)` is one sentence saying why and what to do."""
