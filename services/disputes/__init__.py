"""The disputes service: disputes, promises to pay and payment plans that pause and resume dunning."""
