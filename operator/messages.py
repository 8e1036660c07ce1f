"""Texts the operator shows users, in conditions and Events, kept in one place.

Each names the object's part and what to do. None may carry a secret value, a share or
a key: only names, versions and counts.
"""

READY = "Secret {target} holds version {version}"
STORED = "version {version} is stored on all {shares} chosen nodes"
HEALTHY = "every chosen node is reachable with the keys pinned for it"
DISTRIBUTED = "version {version} dealt {threshold}-of-{shares} and stored on every chosen node"
ROTATED = "version {new} committed on every chosen node; version {old} retired"
MATERIALIZED = "Secret {target} written with version {version}"
WAITING_FOR_NODES = (
    "only {usable} usable ShareNodes match, {shares} are needed for a new version; "
    "the current version stays in use until enough nodes are Ready (kubectl get snode)"
)
STORE_FAILED = (
    "version {version} was not stored on every chosen node ({nodes}); the current version "
    "stays in use and a new attempt follows"
)
TARGET_CONFLICT = (
    "Secret {secrets} already exists and was not created for this DecentralizedSecret, so "
    "Kuorum leaves it untouched and does not deliver there; choose another spec.target.name, "
    "or delete that Secret if it is meant to be replaced"
)
UNTRUSTED_SEALER = (
    "spec.source.sealed was sealed with key {key}, which is not one of the operator's "
    "trusted sealers (--trusted-sealer); seal it again with a trusted key "
    "(kuorum seal --sealer-key), or add this key if you trust whoever holds it"
)
NOT_GRANTED = (
    "namespaces {namespaces} list no DeliveryGrant for {namespace}/{name}, so nothing is "
    "written there; whoever may write in such a namespace allows it with a DeliveryGrant "
    "(kubectl explain deliverygrant), e.g. spec.from: [{{namespace: {namespace}, name: {name}}}]"
)
FORBIDDEN_NAMESPACE = (
    "namespaces {namespaces} are never targets (system namespaces, the one Kuorum runs in, "
    "and namespaces the operator does not serve: operator.watchNamespaces); remove them "
    "from spec.access.namespaces"
)
COPIES_DELETED = "deleted target Secrets no longer allowed here: {copies}"
SOURCE_KEPT = (
    "spec.source.fromSecret.deleteAfterImport is set, but Secret {namespace}/{name} was not "
    "deleted: Kuorum deletes only a Secret its owner handed over; label it "
    "app.kubernetes.io/managed-by=kuorum to have it deleted"
)
SOURCE_NOT_FOUND = (
    "spec.source.fromSecret names Secret {namespace}/{name}, which does not exist; "
    "create it or fix the name"
)
SEALED_VERSION_USED = (
    "spec.source.sealed.version is {version}, but version {committed} is already committed "
    "with other shares; changed sealed values need a higher version: run kuorum seal again "
    "with --version {next}"
)
SEALED_MISFIT = (
    "spec.source.sealed cannot be stored as it was sealed ({details}); run kuorum seal again "
    "against the current ShareNodes (kubectl get snode)"
)
RESEAL_REQUIRED = (
    "version {version} was sealed for another spec.target or spec.access than the spec now "
    "names, so it is delivered nowhere new: to change where a sealed secret goes, run "
    "kuorum seal again with the new --target-name/--access-namespace/"
    "--access-service-account and apply its output"
)
NAMESPACE_CHANGED = (
    "spec.source.sealed was sealed for namespace {namespace} with uid {sealed}, but this "
    "namespace has uid {actual}: it was deleted and re-created since; run kuorum seal "
    "again for the namespace as it is now"
)
SEALED_EXCLUDED = (
    "spec.source.sealed puts shares on ShareNodes {nodes}, which spec.nodeSelector excludes; "
    "run kuorum seal again with --node-selector, or change spec.nodeSelector"
)
SEALED_NODES_DOWN = (
    "spec.source.sealed holds shares for ShareNodes {nodes}, which are not Ready; sealed "
    "shares open only on the nodes they were sealed to, so version {version} waits for them "
    "(kubectl get snode)"
)
TOO_FEW_SHARES = (
    "fewer than {threshold} valid shares of version {version} could be collected "
    "(not answering or bad: {nodes}); the Secret keeps its last value, retrying"
)
NODES_DOWN = (
    "share nodes {nodes} are not reachable: {reachable} of {shares} shares reachable, "
    "{threshold} needed"
)
KEY_CHANGED = (
    "share nodes {nodes} now publish keys other than the ones pinned when their shares "
    "were stored; they are not trusted until an administrator resolves it (docs/operations.md)"
)
BAD_SHARE = "share node {node} returned a share of version {version} that failed verification"
SHARES_DESTROYED = "shares destroyed on {nodes}"
SHARES_LEFT = (
    "gave up destroying shares after the grace period; nodes {nodes} may still hold "
    "shares of this secret: destroy them there (docs/operations.md)"
)
