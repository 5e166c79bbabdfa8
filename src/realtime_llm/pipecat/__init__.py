"""The only package that imports pipecat: the service, its settings, context mapping."""
