"""The local backend over the AWS wire protocol (``sam-ext serve``), on top of moto.

One WSGI application (:mod:`.app`) routes by service: Signer (:mod:`.signer_api`) and
Lambda's code signing config operations (:mod:`.lambda_api`) are answered from the local
backend, everything else by moto's own server application; :mod:`.moto_hook` applies
Lambda's code signing checks where moto deploys code, and :mod:`.cloudformation` gives
moto's CloudFormation the SAM transform and the code signing resource types. Signing jobs
(:mod:`.jobs`) read and write moto's S3 (:mod:`.s3`); :mod:`.state` is what survives a
restart; :mod:`.protocol` is the rest-json wire format, from botocore's models;
:mod:`.limits` bounds what one request may cost (body size, socket timeouts, threads).
Needs the ``serve`` extra.
"""
