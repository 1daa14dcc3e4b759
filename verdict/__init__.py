"""The records and the verdict: the result schema, the status rules, the comparator, the tolerances and
the expectations. Everything that writes, reads or judges a result goes through this package.

It sits below everything that uses it (exporters, conformance, reports) and imports nothing of the suite
but the case definitions in `cases` (the types of the facts an expectation matches). No torch, no onnx.
"""
