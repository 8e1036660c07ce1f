"""The one small Kubernetes access layer the node, operator and webhook share.

Each module holds one kind of access (client configuration, token review, ...), so a
component imports only what it uses and RBAC needs stay easy to read off the code.
"""
