"""The ``sam-ext`` CLI: AWS Signer and Lambda operations, and signing SAM packaging."""
