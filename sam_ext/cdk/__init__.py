"""AWS CDK front end: the cloud assembly ``cdk synth`` writes (:mod:`sam_ext.cdk.assembly`),
read into typed stacks and assets so that ``sam-ext check`` and ``sam-ext package`` treat a
CDK app as one more template."""
