"""Every platform capability as MCP tools, resources and prompts (issue 3)."""
