"""Errors of the reporting service.

::

    RelanceError
     └── ReportingError
          ├── InvalidBucketEdges   (domain.aging)
          ├── InvalidSalesHistory  (domain.dso)
          ├── InvalidRatesFile     (domain.rates_file)
          └── BiRoleFailed         (bi_role)
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class ReportingError(RelanceError):
    """Base of every error the reporting service raises on purpose."""
