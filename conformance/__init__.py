"""Run exported models in runtimes, judge them against torch eager, record results.

Importing this package (or its runtimes, compare and results modules) never imports torch.
"""
