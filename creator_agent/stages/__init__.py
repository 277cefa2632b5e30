"""The AgentCreator's model stages, one module each: parse the SOP, draft a plan, review it (at least twice).

`parse_sop.SopParser`, `draft_plan.PlanDrafter`, `review_plan.PlanReviewer` and `review_loop.review_loop_async`
are what the pipeline runs; `base` holds what they share. Callers import from the module that owns a name.
"""
