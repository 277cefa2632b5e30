"""The runtime that serves deployed customer agents under the Bedrock AgentCore contract (issue 5)."""
