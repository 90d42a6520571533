"""Alerts stage: saved searches and their percolator queries (:mod:`.searches`), matching
indexed documents and recording alert events (:mod:`.percolate`), sending notifications
(:mod:`.notify`), and hourly/daily digests grouped by story, each period sent once
(:mod:`.digests`)."""
