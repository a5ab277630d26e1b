"""The channels: one package per channel or provider (adapter, client, callbacks or tracker)."""
