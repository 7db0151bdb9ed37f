"""The run report: report.json is written by the pipeline; HTML is a view of it."""
