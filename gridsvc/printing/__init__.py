"""Printed products drawn with ReportLab (PDF) and plain HTML: bulletins, contact cards,
assessment tables. Pure drawing: the services gather the data."""
