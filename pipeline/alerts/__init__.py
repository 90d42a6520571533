"""Alerts stage: saved searches and their percolator queries (:mod:`.searches`), matching
indexed documents and recording alert events (:mod:`.percolate`), and sending notifications
(:mod:`.notify`)."""
