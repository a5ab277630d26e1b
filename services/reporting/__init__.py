"""The reporting service: aged balance, DSO and collection effectiveness tables for BI tools."""
