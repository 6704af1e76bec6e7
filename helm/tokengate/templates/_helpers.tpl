{{/* Chart name, overridable. */}}
{{- define "tokengate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Resource name prefix: <release>-<chart>, or the release name when it already contains the
chart name. Truncated to 52 characters so that suffixes such as "-webhook-tls" still fit
the 63-character limit.
*/}}
{{- define "tokengate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tokengate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "tokengate.labels" -}}
helm.sh/chart: {{ include "tokengate.chart" . }}
{{ include "tokengate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokengate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The immutable selector of the operator pods. */}}
{{- define "tokengate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokengate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tokengate.operatorSelectorLabels" -}}
{{ include "tokengate.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "tokengate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokengate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tokengate.webhookServiceName" -}}
{{- printf "%s-webhook" (include "tokengate.fullname" .) }}
{{- end }}

{{- define "tokengate.webhookTlsSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "tokengate.fullname" .)) .Values.webhook.tls.secretName }}
{{- end }}

{{/* True (non-empty) when the operator runs inside the cluster, i.e. no webhook.url. */}}
{{- define "tokengate.inCluster" -}}
{{- if not .Values.webhook.url }}true{{ end }}
{{- end }}

{{/* registry/repository:tag or registry/repository@digest; tag defaults to appVersion. */}}
{{- define "tokengate.image" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- $repository := $image.repository }}
{{- if $image.registry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" $image.registry) $image.repository }}
{{- end }}
{{- if $image.digest }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/*
The port the operator serves the webhook on: ports.webhook in the cluster; with webhook.url,
the URL's port (443 when it names none), since the API server calls the process directly.
*/}}
{{- define "tokengate.webhookPort" -}}
{{- if .Values.webhook.url }}
{{- $host := (urlParse .Values.webhook.url).host }}
{{- if regexMatch ":[0-9]+$" $host }}{{ regexFind "[0-9]+$" $host }}{{ else }}443{{ end }}
{{- else }}
{{- .Values.ports.webhook }}
{{- end }}
{{- end }}
