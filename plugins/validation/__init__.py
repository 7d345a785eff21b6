"""The validation plugin (The Matrix): grading, assessments and scores for field reports.

Registered through the `crisiswiki.plugins` entry point; its own issue fills it in.
"""
