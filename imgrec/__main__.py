"""`python -m imgrec`: the command line (`imgrec.cli`)."""

from imgrec.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
