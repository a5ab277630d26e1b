"""Errors of the reporting service.

ReportingError
├── InvalidBucketEdges   (domain.aging)
├── InvalidSalesHistory  (domain.dso)
└── BiRoleFailed         (bi_role)
"""

from __future__ import annotations


class ReportingError(Exception):
    """Base of every error the reporting service raises on purpose."""
