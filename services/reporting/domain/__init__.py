"""Pure rules of reporting: age buckets and DSO, without I/O."""
