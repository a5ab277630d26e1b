"""The collector console: the credit team's pages over a read model of the public topics."""
