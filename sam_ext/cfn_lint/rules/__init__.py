"""The directory cfn-lint's ``--append-rules`` loads (``code_signing.py``); cfn-lint skips
files whose name starts with ``_``, this one included."""
