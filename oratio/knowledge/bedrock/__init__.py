"""Amazon Bedrock Knowledge Bases behind the `KnowledgeBase` port, in two halves.

`provisioning` finds or creates each agent's knowledge base and data source; `knowledge_base` stores,
removes and searches documents through them; `common` holds the configuration and AWS error mapping.
Callers import from the module that owns a name.
"""
