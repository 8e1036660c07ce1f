"""``python -m kuorum.models``: regenerate ``crds/`` (what ``make crds`` runs)."""

from kuorum.models.crdgen import main

raise SystemExit(main())
