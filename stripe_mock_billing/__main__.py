"""`python -m stripe_mock_billing`."""

from .cli import main

raise SystemExit(main())
