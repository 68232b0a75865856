"""Show/measure: reports built on the API (method comparisons, swell, traces, step sweeps, gallery)."""
