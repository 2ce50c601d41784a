"""Which imgrec this process runs: its version plus a hash of its source, compared before a Ray node trains a run.

`imgrec.__version__` alone is not enough: a checkout edited (or pulled) on one node and not on
another keeps the same version string and trains with different code. The hash covers every
`.py` file of the package, by path and content; it costs ~5 ms and is computed once per process.
"""

import functools
import hashlib
import pathlib

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent.parent


@functools.cache
def imgrec_identity():
    """Returns `{"version": imgrec.__version__, "source": first 12 hex digits of the source hash}` of this process."""
    import imgrec

    digest = hashlib.sha256()
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return {"version": imgrec.__version__, "source": digest.hexdigest()[:12]}


def describe(identity):
    """Returns an identity as people read it: `imgrec 0.1.0 (source 3f2a9c01b7de)`."""
    return f"imgrec {identity.get('version')} (source {identity.get('source')})"


def mismatch_reason(node_identity, app_identity):
    """Returns the sentence a run fails with when the node's imgrec is not the app's, or None when they match."""
    if node_identity == app_identity:
        return None
    return (f"This Ray node runs {describe(node_identity)} but the app runs {describe(app_identity)}; "
            "install the same imgrec checkout on every node.")
