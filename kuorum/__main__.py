"""`python -m kuorum` runs the same CLI as the `kuorum` console script."""

from kuorum.cli import main

raise SystemExit(main())
