# Vault policy for role emo-agents (service account emo-agents in namespace eventmlops). Never the control plane's
# path: the agents hold no signing key.
# vault policy write emo-agents deploy/kubernetes/components/vault/policies/emo-agents.hcl
path "secret/data/eventmlops/agents" {
  capabilities = ["read"]
}
# Only where the bus is RabbitMQ (overlays/dev).
path "secret/data/eventmlops/bus" {
  capabilities = ["read"]
}
