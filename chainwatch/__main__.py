"""`python -m chainwatch ...`: the scheduler starts crawls this way, with the same interpreter."""

from chainwatch.cli import main

if __name__ == "__main__":
    main()
