"""The planning pipeline: read a ward layer, build the problem, solve, check and
write a plan (files, sheets, camp plans). No web, database or command line: the CLI, the
services and the job runner call it."""
