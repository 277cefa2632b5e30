"""AWS deployment: CloudFormation for tables, buckets and roles; AgentCore Runtime deployment (issue 10)."""
