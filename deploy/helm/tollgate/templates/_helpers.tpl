{{/* Names and labels shared by every template. */}}
{{- define "tollgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tollgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway") */}}
{{- define "tollgate.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tollgate.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end -}}

{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tollgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tollgate.internalKeysSecret" -}}
{{- if .Values.internalKeys.values -}}{{ include "tollgate.fullname" . }}-internal-keys{{- else -}}{{ required "internalKeys.existingSecret or internalKeys.values is required" .Values.internalKeys.existingSecret }}{{- end -}}
{{- end -}}

{{- define "tollgate.issuersSecret" -}}
{{- if .Values.trustedIssuers.files -}}{{ include "tollgate.fullname" . }}-trusted-issuers{{- else -}}{{ required "trustedIssuers.existingSecret or trustedIssuers.files is required" .Values.trustedIssuers.existingSecret }}{{- end -}}
{{- end -}}

{{- define "tollgate.connectionsSecret" -}}
{{- if or .Values.connections.mongodbUri .Values.connections.redisUrl -}}{{ include "tollgate.fullname" . }}-connections{{- else -}}{{ required "connections.existingSecret or connections.mongodbUri and redisUrl are required" .Values.connections.existingSecret }}{{- end -}}
{{- end -}}

{{- define "tollgate.supergraphConfigMap" -}}
{{- default (printf "%s-supergraph" (include "tollgate.fullname" .)) .Values.supergraph.existingConfigMap -}}
{{- end -}}

{{/* The pod and container security settings every workload shares. */}}
{{- define "tollgate.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{- define "tollgate.env.common" -}}
- name: NODE_ENV
  value: {{ .Values.nodeEnv | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "tollgate.connectionsSecret" . }}
      key: MONGODB_URI
{{- end -}}
