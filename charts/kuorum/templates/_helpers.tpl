{{/*
Names are fixed, not derived from the release name: the RBAC rule files pin some of them
(resourceNames kuorum-operator, kuorum-webhook), the share nodes trust exactly
system:serviceaccount:<namespace>:kuorum-operator, and ShareNodes, ClusterRoles and the
MutatingWebhookConfiguration are cluster-scoped. One Kuorum release per cluster.
*/}}
{{- define "kuorum.operator.name" -}}kuorum-operator{{- end -}}
{{- define "kuorum.webhook.name" -}}kuorum-webhook{{- end -}}
{{- define "kuorum.node.name" -}}kuorum-node{{- end -}}
{{- define "kuorum.webhook.tlsSecret" -}}kuorum-webhook-tls{{- end -}}

{{- define "kuorum.chart" -}}
{{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of every object; pass (dict "root" $ "component" "operator"). */}}
{{- define "kuorum.labels" -}}
helm.sh/chart: {{ include "kuorum.chart" .root }}
app.kubernetes.io/name: kuorum
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: kuorum
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: stable across upgrades (selectors are immutable). */}}
{{- define "kuorum.selectorLabels" -}}
app.kubernetes.io/name: kuorum
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kuorum.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* Pod-level hardening shared by every component (Pod Security Standard "restricted"). */}}
{{- define "kuorum.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kuorum.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment every component gets: its own identity, and no writes into the image. */}}
{{- define "kuorum.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: KUORUM_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: HOME
  value: /tmp
{{- end -}}

{{/* The default anti-affinity: prefer one replica per Kubernetes node. */}}
{{- define "kuorum.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "kuorum.selectorLabels" . | nindent 12 }}
{{- end -}}

{{/* RBAC rules of a component, read from files/rbac/<component>.yaml (one source with `kuorum dev up`). */}}
{{- define "kuorum.rules" -}}
{{- $rules := .root.Files.Get (printf "files/rbac/%s.yaml" .component) | fromYaml -}}
{{- if hasKey $rules "Error" -}}
{{- fail (printf "files/rbac/%s.yaml is not valid YAML: %s" .component $rules.Error) -}}
{{- end -}}
{{- toYaml (get $rules .scope | default list) -}}
{{- end -}}

{{/* Validate values that would otherwise render a broken install. */}}
{{- define "kuorum.validate" -}}
{{- $n := int .Values.node.replicas -}}
{{- $t := int .Values.node.threshold -}}
{{- if lt $t 1 -}}
{{- fail (printf "node.threshold=%d: a threshold is at least 1" $t) -}}
{{- end -}}
{{- if gt $t $n -}}
{{- fail (printf "node.threshold=%d is above node.replicas=%d: no secret could be recovered; run at least as many share nodes as the largest threshold" $t $n) -}}
{{- end -}}
{{- if has .Release.Namespace .Values.operator.watchNamespaces -}}
{{- fail (printf "operator.watchNamespaces lists %s, the release namespace: Kuorum's own namespace never holds DecentralizedSecrets or their Secrets" .Release.Namespace) -}}
{{- end -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy=%q: use Fail or Ignore" .Values.webhook.failurePolicy) -}}
{{- end -}}
{{- $timeout := int .Values.webhook.timeoutSeconds -}}
{{- if or (lt $timeout 1) (gt $timeout 30) -}}
{{- fail (printf "webhook.timeoutSeconds=%d: the apiserver accepts 1 to 30" $timeout) -}}
{{- end -}}
{{- if not (has .Values.node.kem (list "MLKEM768_X25519" "X25519")) -}}
{{- fail (printf "node.kem=%q: use MLKEM768_X25519 or X25519" .Values.node.kem) -}}
{{- end -}}
{{- end -}}

{{/* The ShareNode names of the StatefulSet's pods, comma-separated: <name>-0,...,<name>-(n-1). */}}
{{- define "kuorum.node.names" -}}
{{- $name := include "kuorum.node.name" . -}}
{{- $names := list -}}
{{- range $i := until (int .Values.node.replicas) -}}
{{- $names = append $names (printf "%s-%d" $name $i) -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}
