{{/*
The operator's settings (io.tokengate.operator.config.OperatorSettings, prefix "tokengate")
as environment variables: Quarkus maps tokengate.sidecar.image to TOKENGATE_SIDECAR_IMAGE.
*/}}
{{- define "tokengate.operatorEnv" -}}
- name: TOKENGATE_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: TOKENGATE_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: TOKENGATE_SIDECAR_IMAGE
  value: {{ include "tokengate.image" (list .Values.sidecar.image .) | quote }}
- name: TOKENGATE_SIDECAR_IMAGE_PULL_POLICY
  value: {{ .Values.sidecar.image.pullPolicy | quote }}
- name: TOKENGATE_WEBHOOK_PORT
  value: {{ .Values.ports.webhook | quote }}
- name: TOKENGATE_WEBHOOK_CONFIGURATION_NAME
  value: {{ .Values.webhook.configurationName | quote }}
- name: TOKENGATE_WEBHOOK_SERVICE_NAME
  value: {{ include "tokengate.webhookServiceName" . | quote }}
- name: TOKENGATE_WEBHOOK_TLS_SECRET_NAME
  value: {{ include "tokengate.webhookTlsSecretName" . | quote }}
- name: TOKENGATE_WEBHOOK_TLS_PROVIDED
  value: {{ .Values.webhook.tls.provided | quote }}
- name: TOKENGATE_LEADER_ELECTION_LEASE_NAME
  value: {{ .Values.leaderElection.leaseName | quote }}
- name: QUARKUS_HTTP_PORT
  value: {{ .Values.ports.http | quote }}
- name: QUARKUS_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}
