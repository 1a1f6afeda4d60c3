"""Backends: the operations of AWS Signer and Lambda, locally or on AWS."""
