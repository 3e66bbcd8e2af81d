# Vault policy for role emo-control-plane (service account emo-control-plane in namespace eventmlops).
# vault policy write emo-control-plane deploy/kubernetes/components/vault/policies/emo-control-plane.hcl
path "secret/data/eventmlops/control-plane" {
  capabilities = ["read"]
}
path "secret/data/eventmlops/database" {
  capabilities = ["read"]
}
# Only where the bus is RabbitMQ (overlays/dev): the broker's URI with its password.
path "secret/data/eventmlops/bus" {
  capabilities = ["read"]
}
