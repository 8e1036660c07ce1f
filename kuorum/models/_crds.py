"""The CustomResourceDefinitions, built from the schemas: ``crds/`` is generated from here."""

from __future__ import annotations

from typing import Any

from kuorum import names
from kuorum.models import _schema_grant, _schema_node, _schema_secret
from kuorum.models._openapi import Schema

_READY = '.status.conditions[?(@.type=="Ready")].status'
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
CATEGORIES = ("kuorum",)


def _column(name: str, kind: str, path: str, description: str) -> dict[str, str]:
    return {"name": name, "type": kind, "jsonPath": path, "description": description}


def _crd(
    *, kind: str, plural: str, short: str, scope: str, schema: Schema, columns: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{names.GROUP}",
            "labels": {"app.kubernetes.io/name": "kuorum", "app.kubernetes.io/part-of": "kuorum"},
        },
        "spec": {
            "group": names.GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short],
                "categories": list(CATEGORIES),
            },
            "scope": scope,
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [*columns, _AGE],
                }
            ],
        },
    }


def crds() -> list[dict[str, Any]]:
    """Every CRD (apiextensions.k8s.io/v1), DecentralizedSecret first."""
    return [
        _crd(
            kind=names.SECRET_KIND,
            plural=names.SECRET_PLURAL,
            short=names.SECRET_SHORT,
            scope="Namespaced",
            schema=_schema_secret.schema(),
            columns=[
                _column("Threshold", "integer", ".spec.threshold", "Shares needed (t)."),
                _column("Shares", "integer", ".spec.shares", "Shares dealt (n)."),
                _column("Version", "integer", ".status.version", "Committed version."),
                _column("Ready", "string", _READY, "Target Secret holds the version."),
                _column("Reachable", "integer", ".status.sharesReachable", "Nodes that answered."),
            ],
        ),
        _crd(
            kind=names.NODE_KIND,
            plural=names.NODE_PLURAL,
            short=names.NODE_SHORT,
            scope="Cluster",
            schema=_schema_node.schema(),
            columns=[
                _column("Endpoint", "string", ".spec.endpoint", "HTTPS URL of the node."),
                _column("Zone", "string", ".spec.zone", "Failure zone."),
                _column("Ready", "string", _READY, "Node accepts requests."),
                _column("Shares", "integer", ".status.sharesHeld", "Shares held."),
                _column("Ledger", "integer", ".status.ledgerSize", "Ledger entries."),
            ],
        ),
        _crd(
            kind=names.GRANT_KIND,
            plural=names.GRANT_PLURAL,
            short=names.GRANT_SHORT,
            scope="Namespaced",
            schema=_schema_grant.schema(),
            columns=[
                _column("From", "string", ".spec.from[*].namespace", "Namespaces allowed."),
            ],
        ),
    ]
