"""The disputes service.

Disputes, promises to pay and payment plans that pause and resume dunning.
"""
