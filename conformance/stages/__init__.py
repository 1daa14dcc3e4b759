"""The stages one piece of work goes through in a worker, in order; each announces the results it decides
(conformance.worker), so a crash or a hang lands on exactly those:

export   the model: exported here (through the cache) or read from a corpus        (export.py)
eager    torch eager's outputs, and the fp64 oracle's, at every run shape           (eager.py)
load     the model in a runtime                                                     (run.py)
run      the runtime at one run shape                                               (run.py)
judge    the outputs against the yardstick: a finished result                       (judge.py)
"""
