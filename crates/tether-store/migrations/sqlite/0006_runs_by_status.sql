-- Run counts by status (the demo's progress, `tether runs`) read this index instead of sorting
-- every run: without it, SQLite sorted the whole table on each count, so the memory of counting
-- grew with the number of runs.
CREATE INDEX runs_by_status ON runs (status);
