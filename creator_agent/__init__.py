"""The AgentCreator: SOP -> parsed SOP -> reviewed plan -> generated, reviewed and tested agent -> deployed.

Not built yet (issue 6). It will provision through the service layer, never the stores directly.
"""
