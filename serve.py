"""Runs the app: starts the inference workers, then Streamlit's server on `streamlit_app.py`.

Use it as `streamlit run streamlit_app.py` (same options): `python serve.py --server.port 8501`.
The difference is when the workers start. Under `streamlit run` they start with the first
visitor's first page, which then waits for a worker to import TensorFlow (~4 s on a laptop);
here they start with the server, while it waits for that visitor, so a fresh server's first
page is no slower than when the server imported TensorFlow itself (bench/first_load.py).
Streamlit has no hook to run code when its server starts, hence this launcher; the pool is the
process's `serving.shared_pool()`, the one the app's pages then use.
"""

import pathlib
import sys

from streamlit.web import cli

from imgrec import serving

APP = pathlib.Path(__file__).resolve().parent / "streamlit_app.py"

if __name__ == "__main__":
    serving.shared_pool()
    sys.exit(cli.main(["run", str(APP), *sys.argv[1:]], prog_name="streamlit"))
