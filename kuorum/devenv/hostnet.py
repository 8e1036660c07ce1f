"""The one network of the local node: a bridge on the host, its address, the pod range.

The kubelet refuses a loopback node IP and these machines have no ``dummy`` device, so
the CNI bridge is made first and its address is the node IP: the kubelet, the apiserver
(so pods reach it through the ``kubernetes`` Service) and CoreDNS listen there. One
machine runs one local node at a time.
"""

from __future__ import annotations

BRIDGE = "kuorum0"
NODE_IP = "10.88.0.1"
POD_CIDR = "10.88.0.0/24"
PREFIX = 24
NODE_NAME = "kuorum-dev-node"
CLUSTER_DOMAIN = "cluster.local"
SERVICE_CIDR = "10.0.0.0/24"
