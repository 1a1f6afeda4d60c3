"""Pulumi dynamic resources for Lambda code signing.

Each resource's provider holds plain data only (it is pickled into the stack's state);
backends, clients and keys are opened inside the lifecycle methods.
"""
