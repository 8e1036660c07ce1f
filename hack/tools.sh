#!/usr/bin/env bash
# Find or build the chart tools (helm, kubeconform) and print their paths.
#
#   hack/tools.sh helm          # path of helm (built once if missing)
#   hack/tools.sh kubeconform   # path of kubeconform
#   hack/tools.sh all           # helm and kubeconform, one per line (CI: run once first)
#
# Overrides: $HELM / $KUBECONFORM name a binary to use as is (nothing is built).
# Otherwise binaries are built from the Go module proxy, pinned by version, with
# GOTOOLCHAIN=local, into a cache outside the repository that every later run reuses:
#   ${KUORUM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuorum/tools}/<name>-<version>/<name>
# A build goes to a scratch directory first and is moved into place only when it worked,
# so a half build is never used. Log lines go to stderr; stdout carries only paths.
set -euo pipefail

HELM_VERSION="v3.22.0"
KUBECONFORM_VERSION="v0.8.0"

TOOLS_DIR="${KUORUM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuorum/tools}"

say() { echo "hack/tools.sh: $*" >&2; }

# build NAME VERSION MODULE PACKAGE LDFLAGS
build() {
  local name=$1 version=$2 module=$3 package=$4 ldflags=$5
  local target="$TOOLS_DIR/$name-$version"
  if [ -x "$target/$name" ]; then
    echo "$target/$name"
    return
  fi
  command -v go >/dev/null || {
    say "Go >= 1.26 is needed to build $name $version once (or set \$${name^^} to a $name binary)"
    exit 1
  }
  mkdir -p "$TOOLS_DIR"
  local scratch
  scratch=$(mktemp -d "$TOOLS_DIR/.build-$name-XXXXXX")
  say "building $name $version from the Go module proxy into $target (once)"
  local started=$SECONDS
  (
    cd "$scratch"
    # A tools module of our own: `go install pkg@version` refuses modules whose go.mod
    # has replace directives, a module that requires them does not.
    cat >go.mod <<MOD
module kuorum.io/tools/$name

go 1.26.0
MOD
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
    go get "$module@$version" >&2
    # helm's Makefile stamps the Kubernetes version of its client-go (the default of
    # `helm template --kube-version` and of lint); do the same, read from the module graph.
    local client_go
    client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go 2>/dev/null || echo v0.0.0)
    ldflags=${ldflags//@K8S_MINOR@/$(echo "$client_go" | cut -d. -f2)}
    go build -trimpath -ldflags "$ldflags" -o "$scratch/out/$name" "$package" >&2
  ) || { rm -rf "$scratch"; say "building $name $version failed"; exit 1; }
  rm -rf "$target"
  mv "$scratch/out" "$target"
  rm -rf "$scratch"
  say "$name $version ready in $target ($((SECONDS - started)) s)"
  echo "$target/$name"
}

helm_path() {
  if [ -n "${HELM:-}" ]; then echo "$HELM"; return; fi
  build helm "$HELM_VERSION" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm \
    "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION
     -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1
     -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=@K8S_MINOR@
     -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1
     -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=@K8S_MINOR@"
}

kubeconform_path() {
  if [ -n "${KUBECONFORM:-}" ]; then echo "$KUBECONFORM"; return; fi
  build kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform \
    github.com/yannh/kubeconform/cmd/kubeconform "-s -w"
}

case "${1:-all}" in
  helm) helm_path ;;
  kubeconform) kubeconform_path ;;
  all) helm_path; kubeconform_path ;;
  versions) echo "helm $HELM_VERSION"; echo "kubeconform $KUBECONFORM_VERSION" ;;
  *) say "usage: hack/tools.sh [helm|kubeconform|all|versions]"; exit 2 ;;
esac
