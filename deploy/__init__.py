"""AWS deployment: `oratio deploy aws --plan | --apply` (docs/aws.md).

- `template` / `iam`: the CloudFormation template (`oratio.template.json`), generated from the store's table
  definitions and a per-runtime table of IAM grants.
- `package`: the deterministic code zip AgentCore Runtime runs (all three runtimes, three entry points).
- `target`: what is deployed where, and the AWS clients seam (`AwsClients`).
- `plan`: read-only observation and the list of actions; `apply`: executes them idempotently.
- `cli`: the `oratio deploy aws` sub-command.
- `voice_bridge.Dockerfile`: the voice bridge's container for ECS/Fargate or any host.
"""
