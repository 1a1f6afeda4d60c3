"""AWS Lambda code signing: the signing core, both backends, and the Pulumi resources.

The Pulumi resources are imported lazily (``from provider import SigningProfile``), so
the core and the ``sam-ext`` CLI never load the Pulumi SDK.
"""
