"""The one small Kubernetes access layer the node, operator, webhook and agent share
(with the node API client: TLS pinned to what each ShareNode publishes).

Each module holds one kind of access (client configuration, token review, ...), so a
component imports only what it uses and RBAC needs stay easy to read off the code.
"""
