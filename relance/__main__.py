"""``python -m relance``: the same command line as the ``relance`` script."""

from relance.entry import main

main()
